"""Report fragments for a narrative's dynamics (spread, bursts, wording drift); every string is escaped."""

from __future__ import annotations

import html

import pandas as pd

from narratives.schemas import NARRATIVE_BURSTS, NARRATIVE_DRIFT, NARRATIVE_SPREAD

SP, B, D = NARRATIVE_SPREAD.c, NARRATIVE_BURSTS.c, NARRATIVE_DRIFT.c
TOP_DRIFT = 3


def _e(v) -> str:
    return "" if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)) else html.escape(str(v), quote=True)


def _d(v) -> str:
    return "—" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def _days(v) -> str:
    return "never" if v is None or pd.isna(v) else f"{float(v):g} days"


def spread_html(nid: int, spread: pd.DataFrame) -> str:
    rows = spread[spread[SP.narrative_id] == nid]
    if rows.empty:
        return ""
    r = rows.iloc[0]
    reprints = f"; {int(r[SP.n_reprints])} claims arrived as reprints" if int(r[SP.n_reprints] or 0) else ""
    return (f"<p>Spread: first <b>{_e(r[SP.first_outlet])}</b> on {_d(r[SP.first_seen])}; a second outlet after "
            f"{_days(r[SP.days_to_2_outlets])}, a third after {_days(r[SP.days_to_3_outlets])}; "
            f"{int(r[SP.n_outlets])} outlets in all{reprints}.</p>")


def bursts_html(nid: int, bursts: pd.DataFrame) -> str:
    rows = bursts[(bursts[B.narrative_id] == nid) & (bursts[B.grain] == "day")]
    if rows.empty:
        return ""
    items = "".join(f"<li>{_d(r[B.period_start])} – {_d(r[B.period_end])}: up to {int(r[B.peak_claims])} claims a day "
                    f"(baseline {float(r[B.baseline]):.1f}, z {float(r[B.score]):.1f})</li>" for _, r in rows.iterrows())
    return f"<h4>Bursts</h4><ul>{items}</ul>"


def drift_html(nid: int, drift: pd.DataFrame, texts: dict) -> str:
    rows = drift[(drift[D.narrative_id] == nid) & (drift[D.grain] == "week") & drift[D.drift_score].notna()]
    if rows.empty:
        return ""
    rows = rows.sort_values(D.drift_score, ascending=False, kind="stable").head(TOP_DRIFT)
    body = []
    for _, r in rows.iterrows():
        rising = ", ".join(_e(t) for t in list(r[D.rising_terms])[:5])
        falling = ", ".join(_e(t) for t in list(r[D.falling_terms])[:5])
        rep = _e(texts.get(r[D.representative_claim_id], ""))
        body.append(f"<tr><td>{_d(r[D.period_start])}</td><td class=\"num\">{float(r[D.shift_prev]):.2f}</td>"
                    f"<td>{rising}</td><td>{falling}</td><td>{rep}</td></tr>")
    head = ("<thead><tr><th>Week</th><th class=\"num\">Shift</th><th>Rising terms</th><th>Falling terms</th>"
            "<th>Representative claim</th></tr></thead>")
    return f"<h4>Largest wording shifts</h4><table>{head}<tbody>{''.join(body)}</tbody></table>"


def dynamics_html(nid: int, spread: pd.DataFrame, bursts: pd.DataFrame, drift: pd.DataFrame, texts: dict) -> str:
    """Spread sentence, burst list and the weeks with the largest wording shift, for one narrative."""
    return spread_html(nid, spread) + bursts_html(nid, bursts) + drift_html(nid, drift, texts)
