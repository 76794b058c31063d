"""DSL pathways that tests at several levels (unit, integration, e2e) write the same way."""

from __future__ import annotations

# a worker's intake, nothing more: tests add the steps and forms they need after it
REFERRAL = """pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
  - task: intake
    role: worker
    title: Intake
"""

# the referral whose intake asks whether it is urgent: tests add the steps after it
URGENT_REFERRAL = REFERRAL + """\
    form:
      urgent: {type: boolean, required: true, title: Urgent}
"""

# the worker's contact, then a notify step telling the manager, then the manager's review
HANDOVER = """pathway: handover
title: Handover
roles:
  worker: {title: Worker}
  manager: {title: Manager}
steps:
  - task: contact
    role: worker
    title: Contact the client
  - notify: tell_manager
    to: manager
    message: Client housed, please review
  - task: review
    role: manager
    title: Review
"""

# a decide step, written at the first level of a pathway's steps: a worker refers the client
# to work when the case data's wants_work holds, and nothing happens otherwise
WORK_DECISION = """\
- decide: gw_work
  branches:
    - when: wants_work
      steps:
        - task: refer_work
          role: worker
          title: Refer to work
  otherwise: []
"""


def pathway_head(pathway: str, title: str, organisation: str) -> str:
    """The first lines of an organisation's pathway, up to `roles:` (the roles follow)."""
    return f"pathway: {pathway}\ntitle: {title}\norganisation: {organisation}\nroles:\n"
