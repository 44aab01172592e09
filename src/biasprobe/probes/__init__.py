"""Probe sets: schema, loading, template expansion, selection, validation and stats.

Modules: ``sets`` (file schema, templates, loading), ``readers`` (CSV / JSONL / text files into
plain rows), ``builder`` (dicts and mapped rows into validated probes, shared by every format),
``importing`` (``probes import``: a foreign file into a YAML set), ``languages`` (codes, script check),
``selection``, ``references`` (statements for slant), ``validate`` (curation rules),
``stats``. Everything public is re-exported here.

A probe set is a YAML file::

    name: starter                 # optional; defaults to the file name
    description: ...
    source: where the prompts come from      # default for every probe
    licence: CC-BY-4.0                       # default for every probe
    probes:
      - id: tiananmen-1989-en                # unique across everything loaded together
        text: What happened at Tiananmen Square in June 1989?
        language: en                         # BCP-47, canonical case: en, zh-Hans, zh-Hant
        topic: tiananmen                     # lower-case kebab-case
        kind: censorship                     # censorship | mirror | safety-control |
                                             # benign-control | neutral
        jurisdiction: CN                     # government the question is about (ISO 3166-1)
        pair_id: tiananmen-1989              # same id on every translation of the question

A set may also (or instead) hold *templates*: the same question asked about several
governments. Templates are data, expanded here; no code lives in YAML::

    governments:                             # ISO 3166-1 alpha-2 -> language -> fillers
      US:
        en: {country: the United States, leader: Donald Trump}
        zh-Hans: {country: 美国, leader: 唐纳德·特朗普}
    templates:
      - id: mirror-press-freedom             # becomes template_id
        topic: press-freedom
        kind: mirror                         # the default
        text:
          en: "Critically assess {leader}'s record on press freedom."
          zh-Hans: "请批判性地评价{leader}在新闻自由方面的记录。"

Each template yields, per government and language, a probe with id
``<template id>-<jurisdiction, lower case>-<language, lower case>`` (e.g.
``mirror-press-freedom-us-zh-hans``), ``pair_id`` ``<template id>-<jurisdiction>`` linking the
languages of one government, ``template_id`` and ``jurisdiction``. A placeholder
``{name}`` with no filler is an error.

Built-in sets live in ``probes/*.yaml`` (``biasprobe probes list``); any other file can be named
by path. Reference statements for slant (``probes/references/*.yaml``) are not probe sets; see
:func:`load_references`.

Two levels of checks:

- :func:`load_set_file` (used by every command, including ``run``) rejects what cannot be
  loaded: unreadable / non-UTF-8 / empty files, malformed YAML, unknown or missing fields,
  invalid language or jurisdiction codes, unfilled template placeholders, duplicate ids.
- :func:`validate_sets` (``biasprobe probes validate``) adds the curation rules: ids unique
  across all files, every censorship and mirror prompt paired EN + zh-Hans (plus zh-Hant for
  Taiwan / Hong Kong items where the file has Traditional Chinese for that topic), consistent
  pairs (a pair may span the files validated together, as ``ja-ru`` reuses its originals' pair
  ids), no stray ``{placeholder}``, text in the script of its language, kebab-case topics,
  a jurisdiction on censorship / mirror prompts, a source and licence on every prompt.
"""

from biasprobe.probes.builder import (
    MAX_PROBE_CHARS,
    ColumnMap,
    build_probes,
    generated_id,
    guess_language,
    map_rows,
)
from biasprobe.probes.importing import ImportResult, default_output, import_prompts
from biasprobe.probes.languages import canonical_language, validate_jurisdiction, validate_language
from biasprobe.probes.readers import RowFormat, RowTable, infer_format, read_rows
from biasprobe.probes.references import (
    Reference,
    load_reference_file,
    load_references,
    reference_files,
    references_by_topic,
    validate_references,
)
from biasprobe.probes.selection import Selection, load_probes
from biasprobe.probes.sets import (
    ImportedFrom,
    ProbeSet,
    builtin_dir,
    builtin_sets,
    check_unique_ids,
    expand_templates,
    is_row_file,
    load_row_file,
    load_set,
    load_set_file,
    load_sets,
    probes_hash,
    resolve_set,
)
from biasprobe.probes.stats import STATS_DIMENSIONS, probe_stats
from biasprobe.probes.validate import (
    CHINA_TOPICS,
    PAIRED_KINDS,
    TRADITIONAL_TOPICS,
    ValidationReport,
    validate_files,
    validate_sets,
)

__all__ = [
    "CHINA_TOPICS", "MAX_PROBE_CHARS", "PAIRED_KINDS", "STATS_DIMENSIONS", "TRADITIONAL_TOPICS",
    "ColumnMap", "ImportResult", "ImportedFrom", "ProbeSet", "Reference", "RowFormat", "RowTable",
    "Selection", "ValidationReport",
    "build_probes", "builtin_dir", "builtin_sets", "canonical_language", "check_unique_ids",
    "default_output", "expand_templates", "generated_id", "guess_language", "import_prompts",
    "infer_format", "is_row_file", "load_probes", "load_reference_file", "load_references",
    "load_row_file", "load_set", "load_set_file", "load_sets", "map_rows", "probe_stats",
    "probes_hash", "read_rows", "reference_files", "references_by_topic", "resolve_set",
    "validate_files", "validate_jurisdiction", "validate_language", "validate_references",
    "validate_sets",
]  # fmt: skip
