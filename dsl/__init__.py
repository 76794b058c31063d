"""Pathways' service-design DSL: YAML text in, BPMN 2.0 out (or located errors).

Pure: no I/O, no Flask, no SQLAlchemy: text in, results out. `validate` checks a pathway
file against the README's DSL reference (the contract) and the JSON Schema shipped as
dsl/schema.json, and reports every problem at once, each located as FILE:LINE:COLUMN with a
how-to-fix hint;
`load_pathway` gives the validated document (the YAML's plain data, unchanged) or raises
DslError. `compile_pathway` turns a validated document into BPMN and JSON Schema forms.
"""

from dsl.compile import CompiledPathway, compile_pathway
from dsl.errors import DslError, DslProblem
from dsl.validate import json_schema, load_pathway, validate

__all__ = ["CompiledPathway", "DslError", "DslProblem", "compile_pathway", "json_schema",
           "load_pathway", "validate"]
