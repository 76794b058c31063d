"""Pathways' service-design DSL: YAML text in, BPMN 2.0 out (or located errors).

Pure: no I/O, no Flask, no SQLAlchemy. The compiler arrives with the DSL issue; until then
pathways are published as BPMN.
"""
