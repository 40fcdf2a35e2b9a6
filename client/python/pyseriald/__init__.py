"""pyseriald: Torch7 (.t7) and R (.rds, .RData) files as native Python data, through a seriald
server.

`load` gives numpy arrays (views of the received bytes, no copies), pandas DataFrames, Series and
Categoricals for R data frames, named vectors and factors, and dicts and lists for tables and
lists; `dump` writes such values back in any format the server writes. The gRPC and protobuf
modules are generated from the same proto files as the server (pyseriald._proto).

Example:

    from pyseriald import SerialdClient
    client = SerialdClient("127.0.0.1:50051")
    model = client.load("model.t7")           # e.g. Object({'weight': ndarray, ...}), .class_name
    frame = client.load("table.rds")          # a pandas DataFrame
    client.dump(frame, "rds", path="copy.rds")
    t7_ascii = client.convert(open("model.t7", "rb").read(), to="t7-ascii")
    npz = client.convert(open("model.t7", "rb").read(), to="npz")   # npz.notes: what was left out
"""
from .client import Converted, SerialdClient, SerialdError
from .objects import Object, Opaque, Pairs, RArray, RList

__version__ = "0.1.0"
__all__ = ["SerialdClient", "SerialdError", "Converted", "Object", "RList", "RArray", "Opaque",
           "Pairs"]
