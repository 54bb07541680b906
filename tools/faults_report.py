#!/usr/bin/env python3
"""One row of tools/faults.sh: reads the row's files (waqtor-load's --timeline CSV and JSON
reports), prints the row's Markdown line and exits 1 when an expectation was missed.

Measured from the timeline (every call of `waqtor-load mixed`, warm-up included, with its
scheduled start, its end and its status):
  - calls during the fault: calls scheduled between the fault's start and its end;
  - errors by status, during the fault and after it;
  - wrong statuses: any status but OK and the allowed ones (e.g. INTERNAL) -> missed;
  - past the deadline: DEADLINE_EXCEEDED, or a call that lasted longer than its timeout (from when
    it really began, not its scheduled start) -> missed;
  - recovery: from the fault's end to the end of the last failed call; a failure scheduled later
    than --recover-within-ms after the fault's end -> missed;
  - --in-flight-must-finish: a call in flight when the fault began that failed -> missed.
From the campaign's report (--campaign): recipients, sent, FAILED, lost, sent twice -> missed if
any of the last three is not 0.
"""
import argparse
import csv
import json
import sys
from collections import Counter


def read_timeline(path):
    """waqtor-load's --timeline CSV: (start, end, operation, status, detail, began) per call."""
    with open(path, newline="") as f:
        return [(float(r["start_ms"]), float(r["end_ms"]), r["operation"], r["status"], r.get("detail", ""),
                 float(r["began_ms"])) for r in csv.DictReader(f)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--row", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--fault-start", type=float, required=True)
    p.add_argument("--fault-end", type=float, required=True)
    p.add_argument("--allowed", default="UNAVAILABLE")
    p.add_argument("--timeout-ms", type=float, required=True)
    p.add_argument("--server-rss-kb", type=int, default=0)
    p.add_argument("--worker-rss-kb", type=int, default=0)
    p.add_argument("--recover-within-ms", type=float, default=5000)
    p.add_argument("--recovery-from", type=float, help="when recovery is counted from (default: the fault's end)")
    p.add_argument("--in-flight-must-finish", action="store_true")
    p.add_argument("--campaign")
    p.add_argument("--sent-during-fault", type=int)
    p.add_argument("--unavailable-names")
    p.add_argument("--ready-after")
    p.add_argument("--drain-ms")
    p.add_argument("--timeline", default="mixed.csv")
    p.add_argument("--note", action="append", default=[])
    p.add_argument("--extra-timeline", help="another timeline in the same format (e.g. drafts), checked too")
    p.add_argument("--timeout-ms-extra", type=float, help="the deadline of the extra timeline's calls")
    p.add_argument("--require-hint", help="every error with this status must carry retry_after_ms")
    p.add_argument("--flood", help="the flood's waqtor-load report: shed and accepted posts, and RPC latency during it")
    p.add_argument("--overload", nargs=3, metavar=("START_MS", "END_MS", "REPORT"),
                   help="a flood far past capacity: it must be shed (503), not queued")
    p.add_argument("--reference", nargs=3, metavar=("START_MS", "END_MS", "REPORT"),
                   help="the same flood at a trivial endpoint: its window and report (the latency reference)")
    a = p.parse_args()

    missed = []
    notes = list(a.note)
    allowed = set(filter(None, a.allowed.split(","))) | {"OK"}
    t0, t1 = a.fault_start, a.fault_end
    calls = read_timeline(f"{a.dir}/{a.timeline}")
    if not calls:
        missed.append("no call was made")
    if a.extra_timeline:
        extra = read_timeline(f"{a.dir}/{a.extra_timeline}")
        outcomes = Counter(c[3] for c in extra)
        notes.append(f"{a.extra_timeline.split('.')[0]}: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
                     + f", longest {max(c[1] - c[5] for c in extra) / 1000:.1f} s")
        over = [c for c in extra if c[3] == "DEADLINE_EXCEEDED" or c[1] - c[5] > (a.timeout_ms_extra or a.timeout_ms) + 1000]
        if over:
            missed.append(f"{len(over)} {a.extra_timeline} calls past their deadline")
        if a.require_hint:
            bare = [c for c in extra if c[3] == a.require_hint and "retry_after_ms=None" in c[4]]
            if bare:
                missed.append(f"{len(bare)} {a.require_hint} without retry-after-ms")
        calls_extra = extra
    else:
        calls_extra = []
    before = [c for c in calls if c[0] < t0]
    during = [c for c in calls if t0 <= c[0] <= t1]
    after = [c for c in calls if c[0] > t1]
    errors_during = Counter(c[3] for c in during if c[3] != "OK")
    errors_after = Counter(c[3] for c in after if c[3] != "OK")
    errors_before = Counter(c[3] for c in before if c[3] != "OK" and c[1] < t0)
    wrong = Counter(c[3] for c in calls + calls_extra if c[3] not in allowed)
    if wrong:
        example = next(c for c in calls + calls_extra if c[3] not in allowed)
        missed.append(f"wrong statuses {dict(wrong)} (e.g. {example[2]}: {example[3]} {example[4][:120]})")
    # A send-reply call lasts until its reply is SENT (up to the timeout after the RPC): only its
    # status says whether its RPC went past the deadline.
    late = [c for c in calls if c[3] == "DEADLINE_EXCEEDED"
            or (c[2] != "send-reply" and c[1] - c[5] > a.timeout_ms + 500)]
    if late:
        missed.append(f"{len(late)} calls past their {a.timeout_ms:.0f} ms deadline")
    failed = [c for c in calls if c[3] != "OK"]
    back = a.recovery_from or t1
    recovery = max([c[1] for c in failed if c[1] >= back] + [back]) - back
    stragglers = [c for c in failed if c[0] > back + a.recover_within_ms]
    if stragglers:
        missed.append(f"{len(stragglers)} calls still failed more than {a.recover_within_ms / 1000:.0f} s after the fault "
                      f"(last: {stragglers[-1][3]} {stragglers[-1][4][:120]})")
    if not any(c[3] == "OK" and c[0] > back for c in calls):
        missed.append("no call succeeded after the fault")
    if a.in_flight_must_finish:
        cut = [c for c in calls if c[5] < t0 < c[1] and c[3] != "OK"]
        if cut:
            missed.append(f"{len(cut)} calls in flight at the fault failed (e.g. {cut[0][3]} {cut[0][4][:120]})")
        notes.append(f"{sum(1 for c in calls if c[5] < t0 < c[1])} calls in flight at the fault, all finished" if not cut else "")
    if a.unavailable_names:
        unnamed = [c for c in failed if c[3] == "UNAVAILABLE" and a.unavailable_names not in c[4]
                   and "shutting down" not in c[4]]
        if unnamed:
            notes.append(f"{len(unnamed)} UNAVAILABLE not naming '{a.unavailable_names}' (e.g. {unnamed[0][4][:100]})")
    if a.flood:
        def posts(path, name):
            try:
                flood = json.load(open(path))
            except (OSError, ValueError) as e:
                missed.append(f"no {name} report: {e}")
                return None
            shed = flood["errors"].get("HTTP_503", 0)
            other = {k: v for k, v in flood["errors"].items() if k != "HTTP_503"}
            notes.append(f"{name}: {flood['calls']} posts in {flood['elapsed_s']:.1f} s ({flood['calls'] / max(flood['elapsed_s'], 0.001):.0f}/s), "
                         f"{flood['ok']} accepted, {shed} shed (503)" + (f", other errors {other}" if other else ""))
            if other:
                missed.append(f"{name}: errors other than 503: {other}")
            return shed
        posts(a.flood, "flood")
        if a.overload:
            if posts(a.overload[2], "overload") == 0:
                missed.append("the overload was not shed")

        def quantiles(window):
            xs = sorted(c[1] - c[5] for c in window if c[2] == "profile" and c[3] == "OK")
            if not xs:
                return None
            return xs[len(xs) // 2], xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        ready_at = min(c[0] for c in calls) + 1000 if calls else t0
        first = float(a.reference[0]) if a.reference else t0
        quiet = quantiles([c for c in calls if ready_at <= c[0] < first])
        under = quantiles(during)
        if quiet and under:
            notes.append(f"GetProfile p50/p99 without a flood {quiet[0]:.1f}/{quiet[1]:.1f} ms, "
                         f"under the flood {under[0]:.1f}/{under[1]:.1f} ms")
        if a.reference:
            r0, r1 = float(a.reference[0]), float(a.reference[1])
            ref = quantiles([c for c in calls if r0 <= c[0] <= r1])
            try:
                peer = json.load(open(a.reference[2]))
                notes.append(f"the same flood at a trivial endpoint: {peer['calls']} posts in {peer['elapsed_s']:.1f} s")
            except (OSError, ValueError, KeyError) as e:
                missed.append(f"no reference flood report: {e}")
            if ref and under:
                notes.append(f"GetProfile p50/p99 under it {ref[0]:.1f}/{ref[1]:.1f} ms: the listener's flood gives "
                             f"{under[0] / ref[0]:.2f}x/{under[1] / ref[1]:.2f}x the reference")
                if under[0] > 2 * ref[0] or under[1] > 2 * ref[1]:
                    missed.append("RPC latency under the flood is more than twice the reference's")
        if a.overload:
            over = quantiles([c for c in calls if float(a.overload[0]) <= c[0] <= float(a.overload[1])])
            if over and ref:
                notes.append(f"GetProfile p50/p99 under the overload {over[0]:.1f}/{over[1]:.1f} ms "
                             f"({over[0] / ref[0]:.1f}x/{over[1] / ref[1]:.1f}x the reference; not an expectation)")
    if errors_before:
        notes.append(f"errors before the fault: {dict(errors_before)}")
    if a.ready_after:
        status = open(a.ready_after).read().strip()
        if status != "200":
            missed.append(f"/health/ready answered {status} after the fault")
        else:
            notes.append("ready (200) after")
    if a.drain_ms:
        notes.append(f"drained and exited in {open(a.drain_ms).read().strip()} ms")

    lost = dup = 0
    try:
        mixed = json.load(open(f"{a.dir}/mixed.json")).get("outcome", {})
    except (OSError, ValueError) as e:
        mixed = {}
        missed.append(f"no waqtor-load mixed report: {e}")
    if "replies_lost" in mixed:
        lost, dup = mixed["replies_lost"], mixed["replies_duplicated"]
        notes.append(f"replies: {mixed['replies_accepted']} accepted, {lost} lost, {dup} sent twice")
        if a.in_flight_must_finish:
            notes.append(f"Live streams ended by the draining server: {mixed.get('live_ended_by_server')}, "
                         f"(re)subscriptions refused while no server listened: {mixed.get('live_restarts')}")
        if lost: missed.append(f"{lost} accepted replies never reached the gateway")
        if dup: missed.append(f"{dup} replies sent twice")
    if a.campaign:
        try:
            report = json.load(open(a.campaign))
            o = report.get("outcome", {})
            c_lost, c_dup, failed_recipients = o.get("lost"), o.get("gateway_duplicates"), o.get("failed")
            recipients, sent = o.get("recipients"), o.get("sent")
            notes.append(f"campaign: {sent}/{recipients} sent, {failed_recipients} FAILED")
            if c_lost is None or c_dup is None:
                missed.append("the campaign's gateway figures are missing")
            else:
                lost, dup = lost + c_lost, dup + c_dup
                if c_lost: missed.append(f"{c_lost} campaign messages lost")
                if c_dup: missed.append(f"{c_dup} campaign messages sent twice")
            if failed_recipients: missed.append(f"{failed_recipients} recipients FAILED")
            if recipients is None or sent is None or sent + (failed_recipients or 0) < recipients:
                missed.append(f"campaign did not finish: {sent} of {recipients} sent")
        except (OSError, ValueError) as e:
            missed.append(f"no campaign report: {e}")
    if a.sent_during_fault is not None:
        notes.append(f"{a.sent_during_fault} campaign messages sent during the fault")
        if a.sent_during_fault <= 0:
            missed.append("no campaign message was sent during the fault (other shards should keep sending)")

    def fmt(counter):
        return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"

    verdict = "ok" if not missed else "MISSED: " + "; ".join(missed)
    cells = [
        a.row,
        f"{len(during)} ({(t1 - t0) / 1000:.1f} s)",
        fmt(errors_during),
        fmt(errors_after),
        f"{recovery / 1000:.2f} s",
        str(len(late)),
        str(lost), str(dup),
        f"{a.server_rss_kb // 1024} / {a.worker_rss_kb // 1024}",
        "; ".join(n for n in notes if n) or "",
        verdict,
    ]
    print("| " + " | ".join(cells) + " |")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
