"""NT-ASGD: non-monotonically triggered averaged SGD (Merity, Keskar & Socher 2017, Alg. 1).

SGD runs as usual until validation stops improving; from then on the model is the running
average of the SGD iterates, while SGD itself keeps stepping on the raw weights w. With
``logs`` the validation losses of the t checks before the current one, v, and n the
non-monotone interval (AWD-LSTM's ``--nonmono``)::

    trigger at step T  when  t > n  and  v > min(logs[0 : t − n])
    then, after every step k ≥ T:   ax_k = 1/(k − T + 1) · Σ_{i=T..k} w_i
                                    computed as  ax ← ax + (w − ax) / m,  m = k − T + 1

i.e. averaging starts once a check is worse than the best of those more than n checks
before it. Validation and the saved model use ax; the training state keeps both, so a
resumed run continues the same average.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

Arrays = dict[str, np.ndarray]


@dataclass
class NTASGD:
    """The trigger's log and, once triggered, the averaged weights."""

    PREFIX: ClassVar[str] = "optim.ax."  # checkpoint tensor names of the average
    nonmono: int  # n
    logs: list[float] = field(default_factory=list)  # validation losses before the trigger
    start_step: int | None = None  # T: the step count when averaging began
    count: int = 0  # m: iterates in the average
    ax: Arrays = field(default_factory=dict)
    _tmp: Arrays = field(default_factory=dict, repr=False)

    @property
    def averaging(self) -> bool:
        return self.start_step is not None

    def check(self, valid_loss: float, params: Arrays, step: int) -> bool:
        """Record a validation check; start averaging (ax = w) when it triggers.

        Returns True at the check that triggers; checks after that change nothing.
        """
        if self.averaging:
            return False
        t, n = len(self.logs), self.nonmono
        trigger = t > n and valid_loss > min(self.logs[: t - n])
        self.logs.append(float(valid_loss))
        if trigger:
            self.start_step, self.count = step, 1
            self.ax = {k: p.copy() for k, p in params.items()}
        return trigger

    def update(self, params: Arrays) -> None:
        """Fold the iterate after one more SGD step into the average (nothing before the
        trigger)."""
        if not self.averaging:
            return
        self.count += 1
        for name, p in params.items():
            ax = self.ax[name]
            tmp = self._tmp.get(name)
            if tmp is None:
                tmp = self._tmp[name] = np.empty_like(ax)
            np.subtract(p, ax, out=tmp)
            tmp *= p.dtype.type(1.0 / self.count)
            ax += tmp  # ax ← ax + (w − ax) / m

    def weights(self, params: Arrays) -> Arrays:
        """The weights to evaluate and save: the average once it has begun, else ``params``."""
        return self.ax if self.averaging else params

    def state_tensors(self) -> Arrays:
        return {self.PREFIX + k: v for k, v in self.ax.items()}

    def to_dict(self) -> dict:
        return {
            "nonmono": self.nonmono,
            "logs": self.logs,
            "start_step": self.start_step,
            "count": self.count,
        }

    @classmethod
    def from_parts(cls, d: dict, tensors: Arrays) -> NTASGD:
        """Rebuild from :meth:`to_dict` and the checkpoint's tensors (those under ``PREFIX``)."""
        n = len(cls.PREFIX)
        ax = {k[n:]: v.copy() for k, v in tensors.items() if k.startswith(cls.PREFIX)}
        s = cls(int(d["nonmono"]), [float(v) for v in d["logs"]], d["start_step"], d["count"], ax)
        if s.averaging and not ax:
            raise KeyError("optim.ax.* tensors")
        return s
