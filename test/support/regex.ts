/**
 * Literal text inside a regular expression: the one escape the tests use (they build patterns around
 * file paths, option values and messages the program prints).
 */

/** The characters that mean something in a RegExp source (ECMAScript's SyntaxCharacter, and "\"). */
export const REGEXP_SPECIALS = /[.*+?^${}()|[\]\\]/g;

/** `text` as a RegExp source that matches it literally: `new RegExp(`^${escapeRegExp(file)}:3:1: `)`. */
export function escapeRegExp(text: string): string {
  return text.replace(REGEXP_SPECIALS, '\\$&');
}
