"""One class per instrument kind, found by the input model's ``type`` (:func:`kind_of`).

Adding a kind is one input model in :mod:`scenarios.finance` (a member of its ``Instrument``
union) and one class here, decorated with :func:`register` and imported below; nothing else in
``finance/`` names it (see :class:`InstrumentKind` for what it provides).
"""

from .base import (
    REGISTRY,
    BaseInstrument,
    InstrumentKind,
    ReceivablesPool,
    VarEntry,
    constraint_families,
    drawn_note,
    kind_of,
    not_debt_types,
    register,
    row_label,
    variable_families,
)
from .credit_lines import AssetBasedInstrument, CreditLine, InventoryLoanInstrument, RevolverInstrument
from .receivable_sales import FactoringInstrument, ReceivableSale, ReverseFactoringInstrument
from .fixed_tenor import FixedTenorInstrument
from .early_payment import EarlyPayment, EarlyPaymentDiscountInstrument, forgone_discount_cost
from .dynamic_discount import DynamicDiscountInstrument, dynamic_discount_amount
from .deposit import Deposit

__all__ = [
    "REGISTRY", "BaseInstrument", "InstrumentKind", "ReceivablesPool", "VarEntry", "constraint_families",
    "drawn_note", "kind_of", "not_debt_types", "register", "row_label", "variable_families",
    "AssetBasedInstrument", "CreditLine", "InventoryLoanInstrument", "RevolverInstrument",
    "FactoringInstrument", "ReceivableSale", "ReverseFactoringInstrument", "FixedTenorInstrument",
    "EarlyPayment", "EarlyPaymentDiscountInstrument", "forgone_discount_cost",
    "DynamicDiscountInstrument", "dynamic_discount_amount", "Deposit",
]
