// The Go text/template subset Knative's `config-kafka-features` name templates need: text, `{{ .Namespace }}`,
// `{{ .Name }}`, trim markers and comments. Knative executes these templates on the resource's ObjectMeta; Sluice's
// resources have only a namespace and a name to offer, so anything else is refused at validation rather than rendered
// differently from Knative.

/** The fields a name template may use. */
export const NAME_TEMPLATE_FIELDS = ['Namespace', 'Name'] as const;

/** What a name template is executed on. */
export interface NameTemplateData {
  readonly Namespace: string;
  readonly Name: string;
}

type Part = { readonly text: string } | { readonly field: (typeof NAME_TEMPLATE_FIELDS)[number] };

/** A parsed name template: {@link renderNameTemplate} executes it. */
export interface NameTemplate {
  /** The template as written. */
  readonly source: string;
  readonly parts: readonly Part[];
}

/** Why a template does not parse, and where: `offset` counts characters of the template. */
export interface NameTemplateError {
  readonly message: string;
  readonly offset: number;
}

const FIELD_NAMES: readonly string[] = NAME_TEMPLATE_FIELDS;

/** Parses a name template; returns the first problem instead of throwing, so validation can point at it. */
export function parseNameTemplate(source: string): NameTemplate | NameTemplateError {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      text += source.slice(i);
      break;
    }
    text += source.slice(i, open);
    // `{{- ` trims the whitespace before the action (Go requires a space after the dash: `{{-3}}` is a number).
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(source.slice(start, start + 2))) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 1;
    }
    const close = source.indexOf('}}', start);
    if (close < 0) return { message: 'unclosed action: "{{" without "}}"', offset: open };
    let end = close;
    let trimAfter = false;
    if (/[ \t\r\n]-$/.test(source.slice(start, close)) && close - 2 >= start) {
      end = close - 1;
      trimAfter = true;
    }
    const body = source.slice(start, end).trim();
    const bodyAt = start + (source.slice(start, end).length - source.slice(start, end).trimStart().length);
    if (body.startsWith('/*')) {
      if (!body.endsWith('*/') || body.length < 4) return { message: 'unclosed comment: "/*" without "*/" before "}}"', offset: bodyAt };
    } else if (body === '') {
      return { message: 'empty action "{{}}": missing value', offset: open };
    } else {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(body);
      if (!m) {
        return {
          message: `unsupported action "{{${source.slice(start, end)}}}": a name template may only use ${FIELD_NAMES.map((f) => `{{ .${f} }}`).join(' and ')} (no functions, pipelines or control structures)`,
          offset: bodyAt,
        };
      }
      if (!FIELD_NAMES.includes(m[1]!)) {
        return { message: `unknown field .${m[1]} (a name template may use ${FIELD_NAMES.map((f) => `.${f}`).join(' and ')})`, offset: bodyAt };
      }
      if (text !== '') parts.push({ text });
      text = '';
      parts.push({ field: m[1] as (typeof NAME_TEMPLATE_FIELDS)[number] });
    }
    i = close + 2;
    if (trimAfter) while (i < source.length && /[ \t\r\n]/.test(source[i]!)) i++;
  }
  if (text !== '') parts.push({ text });
  return { source, parts };
}

/** Whether a {@link parseNameTemplate} result is an error. */
export function isNameTemplateError(t: NameTemplate | NameTemplateError): t is NameTemplateError {
  return 'message' in t;
}

/** Executes a parsed name template. */
export function renderNameTemplate(template: NameTemplate, data: NameTemplateData): string {
  return template.parts.map((p) => ('text' in p ? p.text : data[p.field])).join('');
}
