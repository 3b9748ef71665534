"""Financing requests against confirmed invoices (issue 18, part 2), decided in seconds.

- :mod:`api.financing.models`: programmes, supplier limit overrides, requests, their items (one
  per invoice) and the ledger (migration ``0011_financing``).
- :mod:`api.financing.terms`: the amounts (advance, discount, fee, interest) in exact integers,
  and a programme's terms from a scenario's finance instrument.
- :mod:`api.financing.credit_rule`: the supplier credit limit rule (a pure function, maths in its
  docstring); :mod:`api.financing.credit_facts`: the facts it reads from the database.
- :mod:`api.financing.decisions`: every rule of a request evaluated, the automatic decision,
  finance's approval or decline, the programme lock.
- :mod:`api.financing.ledger`: double-entry postings, repayment from a buyer's settlement.

The maths, parameters and access rules: ``docs/financing.md``.
"""
