"""gluon-ps for Python workers: MXNet Gluon's Parameter, Constant and Trainer served by a gluon-ps
server, over the same gRPC wire as the TypeScript client (docs/python.md).

    import gluonps as gps
    ps = gps.connect("127.0.0.1:50051")
    w = ps.parameter("dense0_weight", shape=(4, 3), init=gps.init.Xavier())
    w.initialize(ctx=[gps.cpu(0), gps.cpu(1)], seed=7)
    print(w.data(gps.cpu(1)))
"""

from . import init
from .client import ParameterServer, connect
from .context import Context, cpu, gpu
from .dtypes import bfloat16_to_float32, float32_to_bfloat16
from .errors import GluonPsError, Status
from .parameter import Parameter, ParameterDescriptor, RowSparseArray, SymbolVar
from .trainer import StepResult, Trainer, TrainerDescriptor

__version__ = "0.1.0"

__all__ = [
    "connect", "ParameterServer", "Parameter", "ParameterDescriptor", "RowSparseArray", "SymbolVar", "Trainer",
    "TrainerDescriptor", "StepResult", "Context", "cpu", "gpu", "init", "GluonPsError", "Status",
    "float32_to_bfloat16", "bfloat16_to_float32",
]
