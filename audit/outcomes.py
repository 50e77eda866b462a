"""The audit's outcome of a replayed run, in Chinese first (one small module: ``yuqing`` imports it without
the replayer)."""

from __future__ import annotations

OUTCOME_ZH: dict[str, str] = {
    "identical": "一致",
    "nondeterministic": "不确定（代码与历史不符）",
    "failed": "重放失败",
    "inconsistent": "记录与动作不符",
    "altered": "文件被改动",
    "unreadable": "无法读取",
    "missing": "文件缺失",
}
