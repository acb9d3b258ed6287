"""The connector SDK: the contract (``connector.py``), the runtime (``runtime.py``), the registry.

See docs/connectors.md for a complete connector in under 50 lines.
"""

from .connector import (Connector, ConnectorConfig, ConnectorError, Raw, Reason, Reject, TimeWindow, compact,
                        parse_time, stable_id, to_float, to_int)
from .runtime import KafkaSink, Message, Runner, RunStats, run, to_messages

__all__ = ["Connector", "ConnectorConfig", "ConnectorError", "Raw", "Reason", "Reject", "compact", "parse_time",
           "stable_id", "to_float", "to_int", "TimeWindow", "KafkaSink", "Message", "Runner", "RunStats", "run", "to_messages"]
