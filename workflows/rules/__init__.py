"""The notice's rules as pure functions, one module per article, in the notice's order.

- ``article1_responsibility`` 一、认真落实主体责任: the first responsible subject from an incident's scope,
  an opener's override beside it, the coordination units an incident is reported to (A1.1, A1.2, N1.1, A2.3).
- ``article3_timeliness``  三、提高回应时效: the clocks (A3.1-A3.4, P3.a-P3.f).
- ``article4_supervision`` 四、建立督办落实制度: transfer and acceptance, the escalation chain and steps,
  the major-situation report, credited filing times, explanations (A4.1-A4.4, D.esc, P4.a-P4.h).
- ``authority``            who may do what (S1-S7).
- ``validation``           which messages an incident refuses, and why (shared by updates and signals).
- ``intake``               raw payloads into messages and start inputs, never raising.
- ``bounds``               what the record keeps, and when a run continues as new.

Articles 二 (coordination) and 五 (assessment) get their modules here as they are
built. No function here reads a clock, a file or the network: the workflow passes ``workflow.now()``
and the policy it was started with, so every decision replays identically.
"""
