/**
 * Input files are UTF-8 text. Buffer#toString('utf8') turns every byte that is not UTF-8 into
 * U+FFFD without a word: a scenario saved as Latin-1 ran with its description mangled, and a perf
 * report with a damaged byte in `HLT` was fitted with an unknown reason `HL\ufffd` (polish40). The
 * service refuses such a body (src/service/request.ts); the files are refused here, at the byte.
 */

/** The first byte offset where `bytes` stop being UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), or -1. */
export function firstNonUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + len > n) return i;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return -1;
}

/** Where and what: the 1-based line and column (UTF-16 units, as every other position) of the first byte that is not UTF-8. */
export interface NotUtf8 {
  readonly line: number;
  readonly column: number;
  readonly expected: string;
  readonly found: string;
}

/** What a gzip stream given as text is told to be (the service says how to send one instead). */
export const GZIP_EXPECTED = 'UTF-8 text (gunzip the file first)';

/** Why `bytes` are not UTF-8 text, or undefined when they are. */
export function notUtf8(bytes: Uint8Array): NotUtf8 | undefined {
  const at = firstNonUtf8(bytes);
  if (at < 0) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // UTF-16 (Windows "Unicode", PowerShell's > before 6.0): its byte order mark is no UTF-8 at byte 0.
  if (
    at === 0 &&
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
  )
    return {
      line: 1,
      column: 1,
      expected: 'UTF-8 text (save the file as UTF-8; from PowerShell, Out-File -Encoding utf8)',
      found: 'UTF-16 text (its byte order mark)',
    };
  // A gzip stream (`file.yaml.gz`, or a body compressed without saying so): its magic 1f 8b, whose
  // 0x8B at byte 1 read as a Latin-1 file's byte, with iconv's advice.
  if (at === 1 && bytes[0] === 0x1f && bytes[1] === 0x8b)
    return { line: 1, column: 1, expected: GZIP_EXPECTED, found: 'a gzip stream (its first bytes 0x1F 0x8B)' };
  let line = 1;
  let start = 0;
  for (let k = buf.indexOf(10); k >= 0 && k < at; k = buf.indexOf(10, k + 1)) {
    line++;
    start = k + 1;
  }
  // A byte order mark is no column (the readers drop it).
  const before = buf.toString('utf8', start, at);
  const column = (line === 1 ? before.replace(/^\uFEFF/, '') : before).length + 1;
  const shown = `0x${bytes[at].toString(16).toUpperCase().padStart(2, '0')}`;
  return {
    line,
    column,
    expected: 'UTF-8 text (a Latin-1 or Windows-1252 file: iconv -f latin1 -t utf-8 FILE)',
    found: `the byte ${shown}, which is no UTF-8 character here`,
  };
}

/** A file's bytes refused as text: `line:col: expected X, found Y` in the message, the parts as fields. */
export class NotUtf8Error extends Error {
  override readonly name = 'NotUtf8Error';
  constructor(readonly where: NotUtf8) {
    super(`${where.line}:${where.column}: expected ${where.expected}, found ${where.found}`);
  }
}

/**
 * Bytes as UTF-8 text, a leading byte order mark kept; throws NotUtf8Error at the first byte that is
 * not UTF-8. Binary data with a NUL byte before that is left to the readers, which say what it is
 * at the NUL (perf's perf.data recording: src/import/report.ts).
 */
export function utf8Text(bytes: Buffer): string {
  const at = firstNonUtf8(bytes);
  if (at >= 0 && !bytes.subarray(0, at).includes(0)) throw new NotUtf8Error(notUtf8(bytes)!);
  return bytes.toString('utf8');
}
