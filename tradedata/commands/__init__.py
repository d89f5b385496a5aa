"""The verbs of the ``tradedata`` command, one module per topic.

:mod:`tradedata.cli` assembles the parser and runs it; each module here holds its verbs'
handlers (``cmd_*``) and a ``register(sub)`` that adds their sub-parsers:
:mod:`~tradedata.commands.series` (``import``, ``show``, ``validate``, ``fetch``),
:mod:`~tradedata.commands.stores` (``cache``, ``store sync``) and
:mod:`~tradedata.commands.fundamentals`. What they share lives in
:mod:`~tradedata.commands.shared`; ``stats``, ``health`` and the CLI's manners live in
:mod:`tradedata.ops`.
"""
