"""The little of pyhf's ``tensorlib`` notebooks use: NumPy arrays."""
import numpy as np

name = "numpy"


def astensor(value, dtype="float"):
    return np.asarray(value, dtype=np.float64 if dtype == "float" else dtype)


def tolist(value):
    return np.asarray(value).tolist()
