// The assistant's prompts, kept as files in prompts/assistant/ (versioned with the code, reviewed like it) and
// filled here. A template names its values as {{name}}; rendering refuses a missing or unknown one, so a
// renamed value cannot silently send "{{brief}}" to a model. Text that people or networks wrote goes in
// through `data()`, fenced so a model can tell material from instructions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../paths.ts';

export const PROMPT_NAMES = ['system', 'draft', 'rewrite', 'adapt', 'hashtags', 'translate', 'reply', 'retry', 'limits', 'classifier', 'classify', 'alt-text'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

export const PROMPTS_DIR = join(PROJECT_ROOT, 'prompts', 'assistant');

const PLACEHOLDER = /\{\{([a-zA-Z]+)\}\}/g;

/** Material, not instructions: fenced in <data>, with anything that could close the fence defused. */
export function data(text: string, label?: string): string {
  const body = text.replace(/<\s*\/?\s*data\b[^>]*>/gi, (m) => m.replace(/</g, '‹').replace(/>/g, '›'));
  return `<data${label ? ` label="${label.replace(/[^\w .-]/g, '')}"` : ''}>\n${body}\n</data>`;
}

export class PromptBook {
  private readonly templates: Record<PromptName, string>;

  constructor(dir: string = PROMPTS_DIR) {
    this.templates = Object.fromEntries(PROMPT_NAMES.map((n) => [n, readFileSync(join(dir, `${n}.md`), 'utf8').trim()])) as Record<PromptName, string>;
  }

  /** The placeholders a template uses, for tests and for the renderer's own check. */
  placeholders(name: PromptName): string[] {
    return [...new Set([...this.templates[name].matchAll(PLACEHOLDER)].map((m) => m[1]!))];
  }

  render(name: PromptName, values: Record<string, string>): string {
    const used = this.placeholders(name);
    const missing = used.filter((k) => values[k] === undefined);
    const extra = Object.keys(values).filter((k) => !used.includes(k));
    if (missing.length || extra.length) {
      throw new Error(`prompt ${name}: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `not in the template: ${extra.join(', ')}` : ''}`);
    }
    // One pass: a value that itself contains "{{x}}" stays as it is.
    return this.templates[name].replace(PLACEHOLDER, (_m, k: string) => values[k]!);
  }
}
