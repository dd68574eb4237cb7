// A status's `content` is HTML (https://docs.joinmastodon.org/entities/Status/#content): paragraphs, <br>,
// links and mentions. The inbox shows plain text: paragraphs become blank lines, <br> a line break, every
// text node is kept (links hide "https://" and the URL's tail in <span class="invisible">, which belong to the
// URL), entities are decoded. htmlparser2 is the parser the link previews already use.
import { Parser } from 'htmlparser2';

export function statusText(html: string): string {
  let out = '';
  const parser = new Parser({
    ontext(text) { out += text; },
    onopentag(name) { if (name === 'br') out += '\n'; },
    onclosetag(name) { if (name === 'p') out += '\n\n'; },
  }, { decodeEntities: true, lowerCaseTags: true });
  parser.write(html);
  parser.end();
  return out.replace(/\n{3,}/g, '\n\n').trim();
}
