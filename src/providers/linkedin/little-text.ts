// A post's commentary in Little Text Format
// (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format).

const RESERVED = /[\\|{}@[\]()<>#*_~]/g;
const MENTION = /@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)/g;

/**
 * Commentary is Little Text Format: the reserved characters are backslash-escaped (an unescaped one can cut
 * the text short), except inside mention tokens @[Name](urn:li:person|organization:…), kept as written.
 */
export function littleText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(MENTION)) {
    out += text.slice(last, m.index).replace(RESERVED, (c) => `\\${c}`) + m[0];
    last = m.index + m[0].length;
  }
  return out + text.slice(last).replace(RESERVED, (c) => `\\${c}`);
}
