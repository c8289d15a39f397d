"""The model on a fine grid (curve.csv) and the terms of a sum."""
from __future__ import annotations

import ast

import numpy as np

from .errors import ExprError
from .expr import parse_expression

__all__ = ["model_terms", "component_values"]


def model_terms(text):
    """The top-level terms of a model that is a sum: ``'g(x, a) + b*x - c'``
    -> ``['g(x, a)', 'b * x', '-(c)']``.  A model that is not a sum (one
    term) gives ``[]``."""
    try:
        tree = parse_expression(text.strip()).body
    except SyntaxError:
        return []
    terms = []

    def walk(node, negative):
        if isinstance(node, ast.BinOp) and isinstance(node.op,
                                                      (ast.Add, ast.Sub)):
            walk(node.left, negative)
            walk(node.right, negative ^ isinstance(node.op, ast.Sub))
        else:
            src = ast.unparse(node)
            terms.append(f"-({src})" if negative else src)

    walk(tree, False)
    return terms if len(terms) > 1 else []



def component_values(model_text, variables, param_names, functions, values,
                     data, shape):
    """``[(term, values)]``: each top-level term of ``model_text``
    evaluated at the parameter ``values`` on ``data``, broadcast to
    ``shape``; ``[]`` when the model is not a sum or a term cannot be
    evaluated on its own."""
    from .model import ExpressionModel

    out = []
    for term in model_terms(model_text):
        try:
            m = ExpressionModel(term, list(variables), list(param_names),
                                functions=functions, key="model")
            with np.errstate(all="ignore"):
                v = m.eval(dict(values), dict(data))
            v = np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
        except (ExprError, ValueError, TypeError):
            return []
        out.append((term, v))
    return out
