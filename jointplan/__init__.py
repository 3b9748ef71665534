"""jointplan: collaborative planning (S&OP / CPFR) with supply-chain-finance hooks."""

__version__ = "0.1.0"
