"""What one ``fitcli run`` command will do, resolved before the first fit.

:func:`plan_specs` loads every spec of the command and works out, for each,
its data files, its output directory and (for a batch) its dataset folders,
so that problems that would lose results are refused before anything is
fitted:

* a data glob never picks up files that fitcli wrote as outputs
  (:func:`data_files`, with a note saying what was skipped): a run's
  results are not read back as data by the next run;
* an output directory that cannot be one (a device, a pipe, a socket, or
  below one) is refused at its spec line;
* two specs of the command writing into one directory (the same spec
  twice, twin specs with one default directory, a single fit into a
  batch's dataset folder) are refused: the later one, before it is fitted.

With ``-o DIR`` and several specs, each spec gets its own subfolder,
distinct by construction (:func:`subfolders`).

Nothing here prints; errors are kept per spec and reported in their turn.
"""
from __future__ import annotations

import os

__all__ = ["SpecPlan", "plan_specs", "data_files", "subfolders"]


def subfolders(specs):
    """Output subfolder per spec for ``-o DIR`` with several specs, distinct
    by construction (:func:`fitcli.batch.dataset_names`): the file stem, or
    where specs share a stem their path from the common folder with ``/``
    and dots as ``_`` (``damped_sine_toml``, ``p_spec_yaml``).  A spec
    given twice gets one name (and is refused as a collision)."""
    from .batch import dataset_names

    unique = list(dict.fromkeys(os.path.abspath(p) for p in specs))
    names = dict(zip(unique, dataset_names(unique, reserved=())))
    return {p: names[os.path.abspath(p)] for p in specs}


def data_files(spec, given=()):
    """The data of a spec: ``(files of a batch, None, notes)``, or ``(None,
    the single data file given with --data, or None, notes)``.

    ``given`` are the ``--data`` values (paths or globs, relative to the
    current directory).  Files that fitcli wrote as outputs
    (:func:`fitcli.outdir.written_by_fitcli`) are left out of what a glob
    matched (paths named plainly are kept), and a note says so; a glob
    left with nothing is a SpecError at ``data.file`` / ``--data``.
    """
    from .errors import SpecError
    from .outdir import written_by_fitcli
    from .spec import expand_data_files, is_glob

    if given:
        found = expand_data_files(list(given), os.getcwd(), source=None,
                                  key="--data")
        if len(given) == 1 and len(found) == 1 and not is_glob(given[0]):
            return None, found[0], []
        named = {os.path.abspath(os.path.expanduser(f)) for f in given
                 if not is_glob(f)}
        where = {"file": None, "key": "--data"}
        text = ", ".join(repr(f) for f in given)
    elif getattr(spec.data, "pattern", None) is not None:
        found, named = spec.data.files, set()
        if not is_glob(spec.data.pattern):
            return list(found), None, []
        where = spec.locate("data.file", value=True)
        text = repr(spec.data.pattern)
    else:
        return None, None, []
    skipped = written_by_fitcli([f for f in found if str(f) not in named])
    files = [f for f in found if str(f) not in skipped]
    if not skipped:
        return files, None, []
    from .run import _shown_path
    shown = sorted(_shown_path(str(f)) for f in skipped)
    listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more"
                                     if len(shown) > 3 else "")
    if not files:
        raise SpecError(f"every file matching {text} was written by fitcli "
                        f"as an output ({listed}); outputs are never read as "
                        "data", **where)
    return files, None, [f"{where['key']}: skipped {len(shown)} file"
                         f"{'s' if len(shown) > 1 else ''} written by fitcli "
                         f"as outputs: {listed}"]


class SpecPlan:
    """One spec of a ``fitcli run`` command, resolved before any fit.

    Attributes
    ----------
    path : str
        The spec as given.
    spec : FitSpec
        Loaded, options applied (a single ``--data`` file substituted).
    files : list or None
        The data files of a batch (None for a single fit or a global fit).
    out : str
        The output directory.
    notes : list of str
        What to tell the user (data files skipped).
    located : dict
        Where the output directory was set, for errors (``output.dir`` in
        the spec, else the spec file).
    subfolder : str or None
        The subfolder of ``-o DIR`` with several specs.
    is_global : bool
        A global fit (``shared:`` or ``datasets:``).
    """

    def __init__(self, path, spec, files, out, notes, located, *,
                 subfolder=None, is_global=False):
        self.path, self.spec, self.files, self.out = path, spec, files, out
        self.notes = notes
        self.located = located
        self.subfolder, self.is_global = subfolder, is_global

    def claims(self):
        """``{real path: what}`` of every directory this spec writes."""
        from .batch import dataset_names
        out = {os.path.realpath(self.out): "the output directory"}
        for name in dataset_names(self.files) if self.files else ():
            out[os.path.realpath(os.path.join(self.out, name))] = \
                f"the folder of dataset {name!r}"
        return out


def plan_spec(path, spec, *, out_dir=None, subfolder=None, given=()):
    """The :class:`SpecPlan` of one loaded spec (``out_dir``: ``-o``;
    ``given``: ``--data``).  Raises what is wrong (a data glob left empty,
    an output directory that cannot be one)."""
    from .run import check_output_dir

    target = None
    if out_dir is not None:
        target = os.path.join(out_dir, subfolder) if subfolder else out_dir
    located = spec.locate("output.dir") if target is None and \
        "output.dir" in spec.positions else {"file": path, "key": None}
    files, notes, is_global = None, [], bool(getattr(spec, "is_global",
                                                     False))
    if not is_global:
        files, single, notes = data_files(spec, given)
        if single is not None:
            spec = spec.with_data_file(single)
    check_output_dir(spec, target)
    out = target if target is not None else str(spec.output.dir)
    return SpecPlan(path, spec, files, out, notes, located,
                    subfolder=subfolder, is_global=is_global)


def plan_specs(specs, load, *, out_dir=None, data_files=()):
    """A :class:`SpecPlan` (or the exception that stopped it, to be
    reported in its turn) for every spec path of ``specs``, in order;
    ``load(path)`` loads a spec with the command's options.

    A spec whose output directory, or a dataset folder of its batch, is
    one that an earlier spec of the command writes is refused (a
    SpecError at its ``output.dir``): one run's results would replace the
    other's.
    """
    from .errors import SpecError
    from .run import _shown_path

    folders = subfolders(specs)
    plans, claimed = [], {}
    for path in specs:
        try:
            plan = plan_spec(path, load(path), out_dir=out_dir,
                             subfolder=folders[path] if len(specs) > 1
                             else None, given=data_files)
            claims = plan.claims()
            for real, what in claims.items():
                if real not in claimed:
                    continue
                other, theirs = claimed[real]
                same = os.path.realpath(other) == os.path.realpath(path)
                why = ("the spec is given twice" if same else
                       f"{what} {_shown_path(real)} is also {theirs} of "
                       f"{other}")
                raise SpecError(f"{why} in this command, and one run's "
                                "results would replace the other's; give the "
                                "specs different output.dir, or use -o DIR "
                                "(one subfolder per spec)", **plan.located)
        except Exception as exc:  # noqa: BLE001 - reported in its turn
            plans.append(exc)
            continue
        for real, what in claims.items():
            claimed[real] = (path, what)
        plans.append(plan)
    return plans
