// page.ts: the live status page on the metrics port. `/` is server-rendered HTML: the sections
// come from the page script's own render() (page-script.ts), run here in a node:vm context on
// the same /status.json document the browser polls, so the first paint and every update are
// drawn by one renderer. `/status.js` is that script; `/status.json` is the document:
// { status: ServerStatus (common/status.ts), history: the last minutes for the charts }.
import { runInNewContext } from 'node:vm';
import type { ServerStatus } from '../../common/status';
import type { History } from './history';
import type { HttpReply } from './http';
import { PAGE_SCRIPT } from './page-script';

export interface StatusDocument {
  status: ServerStatus;
  history: History;
}

type Sections = Record<'head' | 'trainers' | 'charts' | 'memory' | 'durability' | 'warnings', string>;

let renderer: ((json: string) => Sections) | null = null;

/** The script's render(), evaluated once in a context of its own (no Node globals, no DOM). */
function renderSections(doc: StatusDocument): Sections {
  renderer ??= runInNewContext(
    `${PAGE_SCRIPT}\n;(function (json) { return render(JSON.parse(json)); })`,
    {},
    {
      filename: 'status.js',
    },
  ) as (json: string) => Sections;
  // Through JSON: the objects the script sees are its own context's, as in the browser.
  return { ...renderer(JSON.stringify(doc)) };
}

// The page loads nothing but its own script and data; styles are inline.
const CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `
:root { color-scheme: light; font: 14px/1.45 system-ui, sans-serif; color: #111827; }
body { margin: 0 auto; padding: 12px 20px 40px; max-width: 1280px; background: #f9fafb; }
body.stale { opacity: .6; }
h1 { font-size: 22px; margin: 8px 0 2px; } h1 small { font-weight: 400; color: #6b7280; font-size: 14px; }
h2 { font-size: 16px; margin: 22px 0 6px; } h2 small { font-weight: 400; color: #6b7280; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 4px 14px 12px; margin-top: 12px; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 4px 8px; border-bottom: 1px solid #f1f5f9; text-align: left; vertical-align: top; }
th { font-weight: 600; color: #374151; font-size: 12px; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { width: 200px; }
.meta { color: #374151; margin: 4px 0; } .badge { padding: 1px 8px; border-radius: 10px; font-weight: 600; color: #fff; }
.ok { background: #059669; } .bad { background: #dc2626; color: #fff; } td.bad { background: none; color: #dc2626; }
.late { color: #b45309; font-weight: 600; } .conn { color: #dc2626; font-weight: 600; } .empty { color: #6b7280; }
.bar { display: inline-block; width: 80px; height: 8px; background: #e5e7eb; border-radius: 4px; vertical-align: middle; }
.bar span { display: block; height: 100%; background: #2563eb; border-radius: 4px; } .bar.full span { background: #dc2626; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
figure { margin: 0; } figcaption { font-weight: 600; font-size: 13px; } svg { width: 100%; height: auto; background: #fff; }
svg .grid { stroke: #e5e7eb; } svg .ax { font-size: 11px; fill: #6b7280; }
.legend { font-size: 12px; color: #374151; } .key { margin-right: 12px; white-space: nowrap; }
.key i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
ul.log { list-style: none; padding: 0; margin: 0; font-size: 13px; } ul.log li { padding: 2px 0; border-bottom: 1px solid #f1f5f9; }
ul.log .error, ul.log .fatal { color: #b91c1c; } ul.log code { color: #4b5563; font-size: 12px; }
`;

export function pageReply(doc: StatusDocument): HttpReply {
  const s = renderSections(doc);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gluon-ps status</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body data-interval="${doc.history.intervalMs}" data-updated="${doc.status.timeUnixMs}">
<header id="head">${s.head}</header>
<section id="trainers">${s.trainers}</section>
<section id="charts">${s.charts}</section>
<section id="memory">${s.memory}</section>
<section id="durability">${s.durability}</section>
<section id="warnings">${s.warnings}</section>
<script src="status.js"></script>
</body></html>
`;
  return { contentType: 'text/html; charset=utf-8', body: html, headers: { 'Content-Security-Policy': CSP } };
}

export function scriptReply(): HttpReply {
  return { contentType: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT };
}

export function documentReply(doc: StatusDocument): HttpReply {
  return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(doc) };
}
