/**
 * A strict well-formedness check of an XML document as the renderers write it (no DTD, no CDATA, no
 * namespaces): at most one XML declaration, first; exactly one root element, nothing but white
 * space, comments and processing instructions around it; every element closed in order; attribute
 * values quoted, not given twice, without `<`; `&` only in a predefined entity or a character
 * reference. Not a full parser (no dev dependency has one): it refuses what the renderers could get
 * wrong, first of all several documents one after the other in one file.
 */

export interface XmlShape {
  readonly problems: string[];
  /** The root element's name and attributes (undefined without one). */
  readonly root?: { readonly name: string; readonly attrs: Map<string, string> };
  /** Every element, in document order, with its attributes and its depth (root: 0). */
  readonly elements: { readonly name: string; readonly attrs: Map<string, string>; readonly depth: number }[];
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const REFERENCE = /^&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;

function badAmpersand(text: string): boolean {
  for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1)) if (!REFERENCE.test(text.slice(i))) return true;
  return false;
}

export function checkXml(doc: string): XmlShape {
  const problems: string[] = [];
  const elements: { name: string; attrs: Map<string, string>; depth: number }[] = [];
  const stack: string[] = [];
  let root: XmlShape['root'];
  let rootClosed = false;
  let i = 0;
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) return { problems: ['XML declaration not closed'], elements };
    if (!/^<\?xml version="1\.0"( encoding="[A-Za-z0-9._-]+")?\?>$/.test(doc.slice(0, end + 2)))
      problems.push(`malformed XML declaration ${doc.slice(0, end + 2)}`);
    i = end + 2;
  }
  while (i < doc.length && problems.length < 20) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (stack.length === 0 && text.trim() !== '')
      problems.push(`text outside the root element at ${i}: ${JSON.stringify(text.slice(0, 40))}`);
    if (text.includes(']]>')) problems.push(`"]]>" in text at ${i}`);
    if (badAmpersand(text)) problems.push(`"&" that is no reference in text at ${i}`);
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith('<?', i)) {
      const end = doc.indexOf('?>', i);
      if (end < 0) {
        problems.push(`processing instruction not closed at ${i}`);
        break;
      }
      // The declaration is allowed only as the document's first characters (a second is a second document).
      if (/^<\?xml[\s?]/i.test(doc.slice(i, i + 6))) problems.push(`an XML declaration not at the start, at ${i}`);
      i = end + 2;
      continue;
    }
    if (doc.startsWith('<!--', i)) {
      const end = doc.indexOf('-->', i + 4);
      if (end < 0) {
        problems.push(`comment not closed at ${i}`);
        break;
      }
      i = end + 3;
      continue;
    }
    if (doc.startsWith('<!', i)) {
      problems.push(`unexpected markup declaration or CDATA at ${i}`);
      break;
    }
    if (doc[i + 1] === '/') {
      const m = NAME.exec(doc.slice(i + 2));
      const close = m ? doc.slice(i + 2 + m[0].length).match(/^\s*>/) : null;
      if (!m || !close) {
        problems.push(`malformed end tag at ${i}`);
        break;
      }
      const open = stack.pop();
      if (open !== m[0]) problems.push(`</${m[0]}> at ${i} closes ${open === undefined ? 'nothing' : `<${open}>`}`);
      if (stack.length === 0) rootClosed = true;
      i += 2 + m[0].length + close[0].length;
      continue;
    }
    const m = NAME.exec(doc.slice(i + 1));
    if (!m) {
      problems.push(`"<" that starts no tag at ${i}`);
      break;
    }
    const name = m[0];
    let j = i + 1 + name.length;
    const attrs = new Map<string, string>();
    let selfClosing = false;
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(j))![0];
      j += ws.length;
      if (doc.startsWith('/>', j)) {
        selfClosing = true;
        j += 2;
        break;
      }
      if (doc[j] === '>') {
        j += 1;
        break;
      }
      const a = /^([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(doc.slice(j));
      if (!a || ws === '') {
        problems.push(`malformed attribute in <${name}> at ${j}`);
        return { problems, root, elements };
      }
      const value = a[2] ?? a[3];
      if (attrs.has(a[1])) problems.push(`attribute ${a[1]} given twice in <${name}> at ${j}`);
      if (value.includes('<')) problems.push(`"<" in attribute ${a[1]} of <${name}>`);
      if (badAmpersand(value)) problems.push(`"&" that is no reference in attribute ${a[1]} of <${name}>`);
      attrs.set(a[1], value);
      j += a[0].length;
    }
    if (stack.length === 0) {
      if (root !== undefined) problems.push(`a second root element <${name}> at ${i} (the first: <${root.name}>)`);
      else root = { name, attrs };
    }
    elements.push({ name, attrs, depth: stack.length });
    if (!selfClosing) stack.push(name);
    else if (stack.length === 0) rootClosed = true;
    i = j;
  }
  if (stack.length > 0) problems.push(`not closed at the end: ${stack.map((n) => `<${n}>`).join(' ')}`);
  if (root === undefined) problems.push('no root element');
  else if (!rootClosed && stack.length === 0) problems.push('root element not closed');
  return { problems, root, elements };
}
