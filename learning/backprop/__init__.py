"""Backpropagation as a Lagrangian, and equilibrium propagation."""

from ._eqprop import EPInfo as EPInfo
from ._eqprop import LayeredEnergy as LayeredEnergy
from ._eqprop import eqprop_grad as eqprop_grad
from ._eqprop import eqprop_implicit_grad as eqprop_implicit_grad
from ._eqprop import eqprop_predict as eqprop_predict
from ._eqprop import relax as relax
from ._lagrangian import MLP as MLP
from ._lagrangian import cross_entropy as cross_entropy
from ._lagrangian import forward as forward
from ._lagrangian import lagrangian_grad as lagrangian_grad
from ._lagrangian import mlp_accuracy as mlp_accuracy
from ._lagrangian import multipliers as multipliers
