/**
 * A small structural check of generated HTML (not a full parser): every element the renderers
 * write is closed in order, void elements are not closed, attributes are quoted, ids are unique,
 * and <script>/<style> contents cannot end their element early.
 */

const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'source',
  'track',
  'wbr',
]);
const RAW_TEXT = new Set(['script', 'style']);

export interface HtmlShape {
  readonly problems: string[];
  readonly ids: string[];
  /** Counts of start tags by name. */
  readonly tags: Map<string, number>;
  /** Text of <script> elements, in order, with their attributes. */
  readonly scripts: { readonly attrs: string; readonly text: string }[];
}

export function checkHtml(html: string): HtmlShape {
  const problems: string[] = [];
  const ids: string[] = [];
  const tags = new Map<string, number>();
  const scripts: { attrs: string; text: string }[] = [];
  const stack: string[] = [];
  if (!html.startsWith('<!DOCTYPE html>')) problems.push('no <!DOCTYPE html> first');
  let i = html.indexOf('>') + 1;
  const tagRe =
    /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'))?)*)\s*(\/?)>/y;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt);
      if (end < 0) {
        problems.push(`unclosed comment at ${lt}`);
        break;
      }
      i = end + 3;
      continue;
    }
    tagRe.lastIndex = lt;
    const m = tagRe.exec(html);
    if (!m) {
      problems.push(`bad markup at ${lt}: ${JSON.stringify(html.slice(lt, lt + 60))}`);
      i = lt + 1;
      continue;
    }
    const [, close, rawName, attrs] = m;
    const name = rawName.toLowerCase();
    i = tagRe.lastIndex;
    if (close) {
      const top = stack.pop();
      if (top !== name) problems.push(`</${name}> closes <${top ?? '(nothing)'}> at ${lt}`);
      continue;
    }
    tags.set(name, (tags.get(name) ?? 0) + 1);
    for (const a of attrs.matchAll(/\sid\s*=\s*"([^"]*)"/g)) ids.push(a[1]);
    if (VOID.has(name)) continue;
    if (RAW_TEXT.has(name)) {
      const end = html.toLowerCase().indexOf(`</${name}`, i);
      if (end < 0) {
        problems.push(`<${name}> never closed`);
        break;
      }
      const text = html.slice(i, end);
      if (name === 'script') scripts.push({ attrs, text });
      if (text.includes('<!--')) problems.push(`"<!--" inside <${name}>`);
      i = end;
      stack.push(name);
      continue;
    }
    stack.push(name);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) problems.push(`duplicate id ${id}`);
    seen.add(id);
  }
  return { problems, ids, tags, scripts };
}

/** Every URL a browser would load on its own (src=, href= of link elements, CSS url()) that is not inline. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  // Script elements' text is code (the inlined library mentions its home page in a comment);
  // what a browser fetches is in the markup and CSS around it.
  const markup = html.replace(/(<script\b[^>]*>)[\s\S]*?(<\/script>)/gi, '$1$2');
  for (const m of markup.matchAll(
    /<(script|img|iframe|link|source|video|audio|embed|object)\b[^>]*?\b(src|href|data)\s*=\s*["']?([^"'\s>]+)/gi,
  )) {
    if (!m[3].startsWith('data:')) found.push(`${m[1]} ${m[2]}=${m[3]}`);
  }
  for (const m of markup.matchAll(/url\(\s*["']?([^)"']+)/gi))
    if (!m[1].startsWith('data:')) found.push(`url(${m[1]})`);
  for (const m of markup.matchAll(/@import\b[^;]*/gi)) found.push(m[0]);
  return found;
}
