// Escaping shared by the report writers: markup (XML and HTML) and KTAP.

// XML 1.0 allows only TAB, LF, CR and code points from U+0020 on (less the
// surrogates, handled by the u flag, and U+FFFE/U+FFFF).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text content or a double- or single-quoted attribute value, in XML or HTML. */
export function escapeMarkup(s: string): string {
  return s
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** An attribute value that keeps its line breaks (XML normalises raw ones to spaces). */
export function escapeAttr(s: string): string {
  return escapeMarkup(s).replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** One KTAP line's worth of text: no line breaks. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** A KTAP test name: one line, no '#' (the spec forbids it in descriptions). */
export function ktapName(s: string): string {
  const n = oneLine(s).replace(/#/g, '_');
  return n === '' ? '_' : n;
}
