/**
 * bcc's `kvmexit` (iovisor/bcc tools/kvmexit.py, Fei Li, 2021; its example output is
 * tools/kvmexit_example.txt): an eBPF program on the `kvm:kvm_exit` tracepoint counts exits per
 * thread and reason, and the script prints them after `duration` seconds or at Ctrl-C.
 *
 * The layout, as kvmexit.py prints it (read at commit 343aecb36d82 of iovisor/bcc, and its example
 * file at 05cc30101f70):
 *
 *   Display kvm exit reasons and statistics for <context>( after sleeping %d secs.|... Hit Ctrl-C to end.)
 *     context: "all threads" | "PID p" | "PID p VCPU v" | "PID p and its all threads" | "TID t" |
 *              "TIDS ['t1', 't2']"
 *   [PID      TID      |TID      |TIDS     ]KVM_EXIT_REASON                     COUNT   ("%s%-35s %s")
 *   rows "%-8u %-8u %-35s %-8u" (all threads), "%-8u %-35s %-8u" (-a, -T) or "%-35s %-8u" (one PID
 *   collapsed, -v, -t: sorted by count, descending)
 *
 * The example file's all-threads rows spell the reason `EXIT_REASON_HLT` (an earlier table); its
 * Ctrl-C runs glue the terminal's `^C` to the first row. There is no total line.
 *
 * Names come from kvmexit.py's own tuple indexed by the basic exit reason. It follows vmx.h up to 67
 * (with "N/A" for unused codes), but two adjacent literals "TPAUSE" "N/A" are one Python string, so
 * reason 68 prints as `TPAUSEN/A` and every later name sits one place early: `BUS_LOCK` is printed for
 * reason 73 and `NOTIFY` for 74 (which is vmx.h's BUS_LOCK), and reason 75 (NOTIFY) is never printed.
 * The codes here are the tuple's, i.e. what was counted. The tool refuses to run on non-Intel CPUs,
 * so every report is VT-x.
 */
import { VMX_EXIT_NAMES } from './exitNames.js';
import { leadingTerminalLines, quoteFound, reportText } from './report.js';
import type { ExitReport, ExitReportRow, ReportFail } from './report.js';

const BANNER_RE =
  /^\s*Display kvm exit reasons and statistics for (.+?)(?: after sleeping (\d+) secs\.|\.\.\. Hit Ctrl-C to end\.)\s*$/;
const HEADER_RE = /^\s*(?:(PID)\s+(TID)\s+|(TIDS?)\s+)?KVM_EXIT_REASON\s+COUNT\s*$/;

/** kvmexit.py's names whose index is not vmx.h's code (see the header comment). */
const KVMEXIT_CODES: Readonly<Record<string, number>> = { 'TPAUSEN/A': 68, BUS_LOCK: 73, NOTIFY: 74 };

/**
 * Parse the output of bcc's kvmexit. Throws ReportFormatError (file:line:col, expected, found) on
 * malformed input.
 */
export function parseBccKvmexit(text: string, file: string): ExitReport {
  const input = reportText(text, file);
  const lines = input.lines;
  const fail: ReportFail = input.fail;
  const notes: string[] = [];

  const lead = leadingTerminalLines(lines);
  let i = lead.first;
  const prompts = lead.prompts;
  if (prompts > 0) notes.push(`${prompts} command line(s) before the output were ignored`);
  if (i === lines.length) fail(1, 1, "kvmexit's output", input.emptyFound);

  let context: string | undefined;
  let durationSeconds: number | undefined;
  const banner = BANNER_RE.exec(lines[i]);
  if (banner) {
    context = banner[1];
    if (banner[2] !== undefined) durationSeconds = Number(banner[2]);
    else
      notes.push(
        "kvmexit ran until Ctrl-C ('Hit Ctrl-C to end'): the report does not say for how long, so give --duration",
      );
    i++;
    while (i < lines.length && lines[i].trim() === '') i++;
  } else {
    notes.push("no 'Display kvm exit reasons and statistics for ...' line: the span and what was traced are not known");
  }
  const headerLine = lines[i] ?? '';
  const header = HEADER_RE.exec(headerLine);
  if (!header) {
    fail(
      Math.min(i + 1, lines.length + 1),
      Math.max(1, headerLine.search(/\S/) + 1),
      banner
        ? "kvmexit's column header '[PID  TID  |TID  |TIDS  ]KVM_EXIT_REASON  COUNT'"
        : "kvmexit's output: 'Display kvm exit reasons and statistics for ...' or its column header 'KVM_EXIT_REASON  COUNT'",
      i < lines.length ? quoteFound(headerLine.trim()) : 'end of input',
    );
  }
  const idColumns = header[1] !== undefined ? 2 : header[3] !== undefined ? 1 : 0;
  i++;

  interface Sum {
    samples: number;
    line: number;
    column: number;
  }
  const byReason = new Map<string, Sum>();
  const seenRows = new Map<string, number>();
  const pids = new Set<string>();
  const tids = new Set<string>();
  let ctrlC = false;
  let prefixed = 0;
  for (; i < lines.length; i++) {
    let l = lines[i];
    if (l.trim() === '') continue;
    // The terminal echoes Ctrl-C where the cursor is: before the first row kvmexit then prints.
    const glued = /^(\s*\^C)/.exec(l);
    let shift = 0;
    if (glued) {
      ctrlC = true;
      shift = glued[1].length;
      l = l.slice(shift);
    }
    const toks = [...l.matchAll(/\S+/g)].map((m) => ({ text: m[0], at: (m.index ?? 0) + shift }));
    const shape =
      idColumns === 2
        ? "a row '<pid> <tid> <reason> <count>'"
        : idColumns === 1
          ? "a row '<tid> <reason> <count>'"
          : "a row '<reason> <count>'";
    if (toks.length !== idColumns + 2) fail(i + 1, (toks[0]?.at ?? 0) + 1, shape, quoteFound(lines[i].trim()));
    for (let k = 0; k < idColumns; k++)
      if (!/^\d+$/.test(toks[k].text))
        fail(
          i + 1,
          toks[k].at + 1,
          `a ${k === 0 && idColumns === 2 ? 'PID' : 'TID'} (integer)`,
          quoteFound(toks[k].text),
        );
    const reasonTok = toks[idColumns];
    const countTok = toks[idColumns + 1];
    if (!/^\d+$/.test(countTok.text))
      fail(i + 1, countTok.at + 1, 'an exit count (integer, as kvmexit prints it)', quoteFound(countTok.text));
    if (idColumns === 2) {
      pids.add(toks[0].text);
      tids.add(toks[1].text);
    } else if (idColumns === 1) tids.add(toks[0].text);
    let reason = reasonTok.text;
    if (reason.startsWith('EXIT_REASON_')) {
      reason = reason.slice('EXIT_REASON_'.length);
      prefixed++;
    }
    const known = KVMEXIT_CODES[reason] ?? VMX_EXIT_NAMES[reason];
    if (known === undefined && reason !== 'N/A')
      fail(
        i + 1,
        reasonTok.at + 1,
        "an exit reason of kvmexit's table (VT-x names as in Linux's vmx.h, or N/A)",
        quoteFound(reasonTok.text),
      );
    // kvmexit prints one row per reason of a thread (N/A for each code it cannot name): a reason
    // twice for one thread is a table edited or pasted over itself, whose rows were summed silently.
    const rowKey = [...toks.slice(0, idColumns).map((t) => t.text), reason].join(' ');
    const before = reason === 'N/A' ? undefined : seenRows.get(rowKey);
    if (before !== undefined)
      fail(
        i + 1,
        reasonTok.at + 1,
        `each exit reason once${idColumns > 0 ? ' per thread' : ''} (kvmexit prints one row per reason; line ${before} has ${quoteFound(reasonTok.text)})`,
        `${quoteFound(reasonTok.text)} again`,
      );
    seenRows.set(rowKey, i + 1);
    const sum = byReason.get(reason);
    if (sum) sum.samples += Number(countTok.text);
    else byReason.set(reason, { samples: Number(countTok.text), line: i + 1, column: reasonTok.at + 1 });
  }
  if (ctrlC) notes.push("the '^C' that stopped kvmexit, echoed before a row, was set aside");
  if (prefixed > 0)
    notes.push("reasons spelled EXIT_REASON_<name> (the all-threads rows of kvmexit's first version) read as <name>");

  let vcpus: number | undefined;
  const scope = context ?? '';
  if (/^PID \d+ VCPU \d+$/.test(scope) || /^TID \d+$/.test(scope)) {
    vcpus = 1;
    notes.push(`the report covers one vCPU thread (${scope})`);
  } else if (tids.size > 0) {
    vcpus = tids.size;
    notes.push(
      `${tids.size} vCPU thread(s) listed (kvm_exit fires in vCPU threads only; a vCPU that did not exit is not listed): taken as ${tids.size} vCPU(s)`,
    );
  } else if (/^PID \d+$/.test(scope)) {
    notes.push(`the report covers ${scope} (one VM, its threads collapsed: its vCPU count is not shown)`);
  }
  if (pids.size > 1)
    notes.push(
      `the rows are ${pids.size} processes' (PIDs ${[...pids].join(', ')}): several VMs summed; run 'kvmexit -p PID -a' for one guest`,
    );
  const shifted = [...byReason.keys()].filter((r) => r in KVMEXIT_CODES);
  if (shifted.length > 0)
    notes.push(
      `${shifted.join(', ')}: kvmexit's table prints reason 68 as TPAUSEN/A and the names after it one place early (BUS_LOCK for 73, NOTIFY for 74): coded as kvmexit counted them`,
    );
  if (byReason.has('N/A'))
    notes.push("'N/A' rows (codes kvmexit's table does not name) merged into one row with no code");
  if (byReason.size === 0) notes.push('the table has no rows');

  const rows: ExitReportRow[] = [...byReason.entries()]
    .sort((a, b) => b[1].samples - a[1].samples)
    .map(([reason, s]) => ({
      name: reason,
      vendor: 'intel' as const,
      code: reason === 'N/A' ? undefined : (KVMEXIT_CODES[reason] ?? VMX_EXIT_NAMES[reason]),
      reason,
      samples: s.samples,
      source: { line: s.line, column: s.column },
    }));
  notes.push(...input.trailingNotes);
  return input.inFile({
    format: 'kvmexit',
    file,
    vendor: 'intel',
    rows,
    totalSamples: rows.reduce((a, r) => a + r.samples, 0),
    ...(vcpus !== undefined ? { vcpus } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    notes,
  });
}
