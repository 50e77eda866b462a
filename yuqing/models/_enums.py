"""The notice's vocabularies: each member has an English id (the status contract, search attributes,
scripts) and the Chinese term staff read; both, and a few aliases, parse back to the member."""

from __future__ import annotations

from enum import StrEnum


class ZhEnum(StrEnum):
    """A string enum whose members also parse from their Chinese term and aliases."""

    zh: str
    aliases: tuple[str, ...]

    def __new__(cls, value: str, zh: str, *aliases: str) -> ZhEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.zh = zh
        obj.aliases = aliases
        return obj

    @classmethod
    def _missing_(cls, value: object) -> ZhEnum | None:
        if isinstance(value, str):
            key = value.strip()
            for member in cls:
                if key in (member.zh, *member.aliases) or key.lower() == member.value:
                    return member
        return None

    @classmethod
    def choices(cls) -> str:
        """'中文（id）' for every member, for help texts and error messages."""
        return "、".join(f"{m.zh}（{m.value}）" for m in cls)


class OpinionLevel(ZhEnum):
    """舆情等级: the grading of the public opinion itself (A2.2, A2.3, A5.3)."""

    PARTICULARLY_MAJOR = "particularly_major", "特别重大"
    MAJOR = "major", "重大"
    RELATIVELY_MAJOR = "relatively_major", "较大"
    GENERAL = "general", "一般"

    @property
    def rank(self) -> int:
        """4 for 特别重大 down to 1 for 一般: a reclassification compares ranks (S4)."""
        return 4 - list(OpinionLevel).index(self)


class EventGrade(ZhEnum):
    """突发事件等级: the grade of the sudden event an incident concerns (A3.1, A3.2)."""

    PARTICULARLY_MAJOR = "particularly_major", "特别重大", "Ⅰ", "I"
    MAJOR = "major", "重大", "Ⅱ", "II"
    RELATIVELY_MAJOR = "relatively_major", "较大", "Ⅲ", "III"
    GENERAL = "general", "一般", "Ⅳ", "IV"

    @property
    def rank(self) -> int:
        return 4 - list(EventGrade).index(self)

    @property
    def is_major(self) -> bool:
        """特别重大 or 重大: the grades that carry the 5 h and 24 h clocks (A3.1, A3.2)."""
        return self in (EventGrade.PARTICULARLY_MAJOR, EventGrade.MAJOR)


class EventCategory(ZhEnum):
    """突发事件类别."""

    NATURAL_DISASTER = "natural_disaster", "自然灾害"
    ACCIDENT = "accident", "事故灾难"
    PUBLIC_HEALTH = "public_health", "公共卫生事件"
    SOCIAL_SECURITY = "social_security", "社会安全事件"


class ResponseWay(ZhEnum):
    """回应方式, the way of a response (P3.b, from 国办发〔2016〕61号)."""

    AUTHORITATIVE_RELEASE = "authoritative_release", "发布权威信息", "情况通报", "权威发布"
    PRESS_CONFERENCE = "press_conference", "新闻发布会", "发布会"
    BRIEFING = "briefing", "吹风会"
    MEDIA_INTERVIEW = "media_interview", "接受媒体采访", "接受采访", "媒体采访"

    @property
    def needs_speaker(self) -> bool:
        """N3.b: at a press conference or briefing the record names who spoke."""
        return self in (ResponseWay.PRESS_CONFERENCE, ResponseWay.BRIEFING)


class ReleaseChannel(ZhEnum):
    """发布渠道, where a response was published (P3.b)."""

    GOVERNMENT_WEBSITE = "government_website", "政府网站", "政务网站", "网站"
    WEIBO = "weibo", "政务微博", "微博"
    WECHAT = "wechat", "政务微信", "微信", "公众号"
    CLIENT_APP = "client_app", "政务客户端", "客户端", "APP"
    NEWS_MEDIA = "news_media", "新闻媒体", "媒体"
    ON_SITE = "on_site", "现场"


class Speaker(ZhEnum):
    """Who spoke at a press conference or briefing (N3.b): a role, never a person."""

    PRINCIPAL_LEADER = "principal_leader", "主要负责同志"
    LEADER_IN_CHARGE = "leader_in_charge", "分管负责同志"
    SPOKESPERSON = "spokesperson", "新闻发言人"


class UnitKind(ZhEnum):
    """The kinds of unit in the directory (A1.1, A1.2, P4.d)."""

    PROVINCIAL_OFFICE = "provincial_office", "省政府办公厅"
    PROVINCIAL_DEPARTMENT = "provincial_department", "省政府部门"
    CITY_GOVERNMENT = "city_government", "市人民政府"
    COUNTY_GOVERNMENT = "county_government", "县（市、区）人民政府"
    DEPARTMENT = "department", "市县部门"
    COORDINATION = "coordination", "协调单位"
    """宣传、网信 at province and city level, the provincial communications administration (A2.3):
    informed, never responsible and never in a chain."""

    @property
    def is_government(self) -> bool:
        """A people's government (the provincial one stands for itself through its office)."""
        return self in (UnitKind.PROVINCIAL_OFFICE, UnitKind.CITY_GOVERNMENT, UnitKind.COUNTY_GOVERNMENT)

    @property
    def is_department(self) -> bool:
        return self in (UnitKind.PROVINCIAL_DEPARTMENT, UnitKind.DEPARTMENT)


class Role(ZhEnum):
    """Whom in a unit a notification addresses (A1.3, A2.2): a role, never a person."""

    LEADER_IN_CHARGE = "leader_in_charge", "分管负责人"
    PRINCIPAL_LEADER = "principal_leader", "主要负责同志"
    SECTION = "section", "科室"


class TransferSource(ZhEnum):
    """Why the provincial general office transfers an incident (A4.1)."""

    STATE_COUNCIL = "state_council", "国务院办公厅转办"
    IMPORTANT = "important", "重要政务舆情"


class ObligationKind(ZhEnum):
    """What an incident owes, each with the rule it comes from."""

    AUTHORITATIVE_INFO = "authoritative_info", "发布权威信息", "权威信息", "5小时"  # A3.1
    PRESS_CONFERENCE = "press_conference", "举行新闻发布会", "新闻发布会", "发布会", "24小时"  # A3.2
    RESPONSE = "response", "予以回应", "回应", "48小时"  # A3.3
    CONTINUED_RELEASE = "continued_release", "持续发布"  # A3.4, P3.d
    ACCEPTANCE = "acceptance", "接收转办", "接收"  # A4.2, P4.c
    ANALYSIS = "analysis", "报送研判", "研判"  # P4.f, on a transferred incident


class ObligationStatus(ZhEnum):
    PENDING = "pending", "未到期"
    MET = "met", "按时完成"
    LATE = "late", "逾期完成"
    OVERDUE = "overdue", "已逾期"
    WAIVED = "waived", "已免除"


class IncidentState(ZhEnum):
    OPEN = "open", "办理中"
    CLOSED = "closed", "已办结"


class EscalationAction(ZhEnum):
    """The name of an escalation by whom it reaches (D.esc, P4.d)."""

    URGE = "urge", "催办"  # the responsible unit
    SUPERVISE = "supervise", "督促"  # a people's government above it
    OVERSEE = "oversee", "督办"  # the provincial general office


class ReportType(ZhEnum):
    """The messages a unit sends to an incident (A4.3, A4.4, P3.c, P4.g, S3)."""

    ANALYSIS = "analysis", "研判"
    RESPONSE = "response", "回应"
    DISPOSITION = "disposition", "处置"
    MAJOR_SITUATION = "major_situation", "重大情况"
    ACCEPTANCE = "acceptance", "接收"
    RECLASSIFICATION = "reclassification", "重新定级"
    CLOSE = "close", "办结"
    EXPLANATION = "explanation", "超时说明"
    TRANSFER = "transfer", "转办"
    LEAD = "lead", "指定牵头部门"
    EVALUATION = "evaluation", "评价"


class ResponseVerdict(ZhEnum):
    """A5.1: whether the response was proper."""

    PROPER = "proper", "回应妥当", "妥当"
    IMPROPER = "improper", "回应不妥当", "不妥当"


class DispositionVerdict(ZhEnum):
    """A5.1: whether the disposition was effective."""

    EFFECTIVE = "effective", "处置得力", "得力"
    INEFFECTIVE = "ineffective", "处置不得力", "不得力"
