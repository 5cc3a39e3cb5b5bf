"""lstmcli: a next-word predictor on an LSTM written in plain NumPy."""

__version__ = "0.1.0"
