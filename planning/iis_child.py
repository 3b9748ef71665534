"""Compute HiGHS's IIS of an LP in a process of its own (run by :func:`planning.solve.isolated_iis`).

HiGHS 1.15's ``getIis`` can crash the process (a segmentation fault) on a real conflict; run here,
it takes down only this child. Usage: ``python iis_child.py LP.npz``: the LP's arrays (column
costs and bounds, row bounds, the matrix in HiGHS's own format) in the parent's order, so the
row and column indices printed (one JSON line: ``{"rows": [...], "cols": [...]}``, or
``{"rows": null}`` when HiGHS finds none) are the parent's. Imports only numpy and highspy.
"""

from __future__ import annotations

import json
import sys

import highspy
import numpy as np


def load_lp(path: str) -> highspy.HighsLp:
    z = np.load(path)
    lp = highspy.HighsLp()
    lp.num_col_ = int(z["num_col"])
    lp.num_row_ = int(z["num_row"])
    lp.sense_ = highspy.ObjSense(int(z["sense"]))
    lp.offset_ = float(z["offset"])
    lp.col_cost_ = z["col_cost"]
    lp.col_lower_ = z["col_lower"]
    lp.col_upper_ = z["col_upper"]
    lp.row_lower_ = z["row_lower"]
    lp.row_upper_ = z["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat(int(z["format"]))
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.a_matrix_.start_ = z["start"]
    lp.a_matrix_.index_ = z["index"]
    lp.a_matrix_.value_ = z["value"]
    return lp


def main(path: str) -> None:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(load_lp(path))
    h.run()
    # iis_strategy 0 (HiGHS's default) only runs a cheap bound test; strategy 2 computes an IIS
    # from the LP, and 4 is HiGHS's alternative ordering if that finds nothing.
    for strategy in (2, 4):
        h.setOptionValue("iis_strategy", strategy)
        status, iis = h.getIis()
        if status != highspy.HighsStatus.kError and iis.valid_ and (len(iis.row_index_) or len(iis.col_index_)):
            print(json.dumps({"rows": [int(i) for i in iis.row_index_], "cols": [int(j) for j in iis.col_index_]}))
            return
    print(json.dumps({"rows": None}))


if __name__ == "__main__":
    main(sys.argv[1])
