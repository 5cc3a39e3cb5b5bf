"""``lstm live``: the next-word keyboard in a terminal, with the gates and the memory in view.

:mod:`lstmcli.live.app` composes one widget per panel — :mod:`.status`, :mod:`.suggestions`,
:mod:`.gates`, :mod:`.memory`, and :mod:`.prompt` for file names — styled by ``live.tcss``.
What they show comes from :mod:`lstmcli.session` and :mod:`lstmcli.liveview`, which do not
import Textual. This package imports nothing itself; the command imports
:mod:`lstmcli.live.app` when it runs, so the other commands never load Textual.
"""
