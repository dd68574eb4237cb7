// Full-text search in the languages the networks tell: each message's words are indexed twice, stemmed in
// its own language where PostgreSQL has a dictionary for it (so "refunds" finds "refunded") and as they
// are written ('simple', so a name, a handle or a word of any other language is found exactly). A search
// matches the words as written, or stemmed in the searcher's language (see searchQuery).
import { sql, type SQL } from 'drizzle-orm';

/**
 * ISO 639-1 code → the PostgreSQL text search configuration for it. Only configurations every supported
 * PostgreSQL (12 and later) ships: a generated column naming one that is missing would fail the migration.
 */
export const TEXT_SEARCH_CONFIGS: Readonly<Record<string, string>> = {
  ar: 'arabic', da: 'danish', de: 'german', el: 'greek', en: 'english', es: 'spanish', fi: 'finnish', fr: 'french',
  ga: 'irish', hu: 'hungarian', id: 'indonesian', it: 'italian', lt: 'lithuanian', nb: 'norwegian', ne: 'nepali',
  nl: 'dutch', nn: 'norwegian', no: 'norwegian', pt: 'portuguese', ro: 'romanian', ru: 'russian', sv: 'swedish',
  ta: 'tamil', tr: 'turkish',
};

/** A network's language tag (en, en-US, pt_BR, "EN") as stored: the primary subtag, lower case; null when it is not one. */
export function languageOf(tag: string | null | undefined): string | null {
  if (!tag) return null;
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return /^[a-z]{2,3}$/.test(primary) ? primary : null;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** SQL: the text search configuration of a message in `column`'s language ('simple' when there is none). */
function configOf(column: string): string {
  const cases = Object.entries(TEXT_SEARCH_CONFIGS).map(([code, cfg]) => `when ${quote(code)} then ${quote(cfg)}::regconfig`).join(' ');
  return `case ${column} ${cases} else 'simple'::regconfig end`;
}

/**
 * The expression of inbox_messages.search (a stored generated column): the text stemmed in its
 * language, and the text, the author's handle and name as written.
 */
export const SEARCH_VECTOR = sql.raw(
  `to_tsvector(${configOf('language')}, coalesce(text, '')) || ` +
  `to_tsvector('simple'::regconfig, coalesce(text, '') || ' ' || coalesce(author_handle, '') || ' ' || coalesce(author_name, ''))`,
);

/**
 * A search as a tsquery (web search syntax: words, "a phrase", -not, or): the words as written, or stemmed
 * in the searcher's language (`language`, ISO 639-1; English when it is not given or has no dictionary).
 * Only those two: a word a third language's dictionary drops as a stop word would otherwise turn "-word"
 * into no condition at all in that language's half, and the search would find what it was asked to leave out.
 */
export function searchQuery(q: string, language?: string | null): SQL {
  const stemmed = TEXT_SEARCH_CONFIGS[languageOf(language) ?? 'en'] ?? 'english';
  return sql`(websearch_to_tsquery('simple'::regconfig, ${q}) || websearch_to_tsquery(${stemmed}::regconfig, ${q}))`;
}

/** Question marks of the scripts the networks carry (Latin, full-width, Spanish opening, Arabic). */
export const QUESTION_MARKS = '?？¿؟';
const QUESTION = new RegExp(`[${QUESTION_MARKS}]`, 'u');
/** Whether a message asks something. */
export function asksQuestion(text: string): boolean {
  return QUESTION.test(text);
}
