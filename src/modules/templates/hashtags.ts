// Hashtags as a group keeps them: each with one leading #, letters, marks, digits and _ only (what the
// networks link as a tag), duplicates dropped whatever their case (the first spelling kept).
import { Invalid } from '../../domain/errors.ts';

export const HASHTAGS_MAX = 60;
const TAG = /^#?([\p{L}\p{M}\p{N}_]{1,100})$/u;

export function cleanHashtags(input: string[], field = 'body.hashtags'): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  input.forEach((raw, i) => {
    const m = TAG.exec(raw.trim());
    if (!m) {
      throw new Invalid('BAD_HASHTAG', `${field}[${i}]: "${raw}" is not a hashtag; a hashtag is # and then letters, digits or _ (no spaces or punctuation), as #SummerSale.`,
        [{ field: `${field}[${i}]`, message: 'not a hashtag' }]);
    }
    const key = m[1]!.toLocaleLowerCase('und');
    if (seen.has(key)) return;
    seen.add(key);
    out.push(`#${m[1]!}`);
  });
  if (out.length === 0) throw new Invalid('VALIDATION_FAILED', `${field} must hold at least one hashtag.`, [{ field, message: 'empty' }]);
  return out;
}
