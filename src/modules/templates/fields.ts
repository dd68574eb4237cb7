// A template's fields: {{name}} in its texts, asked of the person (or the API caller) when the template is
// used. Names are lower-case words; a text naming a malformed field is refused when saved, so a template
// never goes out with a hole in it. Single braces and other text are kept as they are.
import { Invalid } from '../../domain/errors.ts';

const FIELD = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^[a-z][a-z0-9_]{0,39}$/;
export const FIELDS_MAX = 20;
export const FIELD_VALUE_MAX = 2000;

/** The fields the texts use, in order of first use; a malformed name is refused naming `field`. */
export function fieldsIn(texts: { field: string; text: string }[]): string[] {
  const names = new Set<string>();
  for (const { field, text } of texts) {
    for (const m of text.matchAll(FIELD)) {
      const name = m[1]!;
      if (!NAME.test(name)) {
        throw new Invalid('BAD_FIELD', `${field}: "{{${name}}}" is not a field name; fields are lower-case letters, digits and _ (starting with a letter, at most 40), as {{product_name}}.`,
          [{ field, message: `bad field name "${name}"` }]);
      }
      names.add(name);
    }
  }
  if (names.size > FIELDS_MAX) {
    throw new Invalid('TOO_MANY_FIELDS', `A template can ask for at most ${FIELDS_MAX} fields; this one names ${names.size}.`, [{ field: texts[0]?.field ?? 'body.text', message: 'too many fields' }]);
  }
  return [...names];
}

/** The text with every field filled in from `values` (all present: the caller checks `missing` first). */
export function fillFields(text: string, values: Record<string, string>): string {
  return text.replace(FIELD, (whole, name: string) => values[name] ?? whole);
}
