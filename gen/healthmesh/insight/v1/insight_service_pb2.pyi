import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthmesh.insight.v1 import alert_pb2 as _alert_pb2
from healthmesh.insight.v1 import alert_rule_pb2 as _alert_rule_pb2
from healthmesh.insight.v1 import anomaly_pb2 as _anomaly_pb2
from healthmesh.insight.v1 import category_pb2 as _category_pb2
from healthmesh.insight.v1 import correlation_pb2 as _correlation_pb2
from healthmesh.insight.v1 import insight_pb2 as _insight_pb2
from healthmesh.insight.v1 import recommendation_pb2 as _recommendation_pb2
from healthmesh.insight.v1 import severity_pb2 as _severity_pb2
from healthmesh.insight.v1 import summary_pb2 as _summary_pb2
from healthmesh.insight.v1 import trend_pb2 as _trend_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetInsightRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListInsightsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "unread_only", "kind", "category")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UNREAD_ONLY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    unread_only: bool
    kind: _insight_pb2.Insight.Kind
    category: _category_pb2.Category
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., unread_only: _Optional[bool] = ..., kind: _Optional[_Union[_insight_pb2.Insight.Kind, str]] = ..., category: _Optional[_Union[_category_pb2.Category, str]] = ...) -> None: ...

class ListInsightsResponse(_message.Message):
    __slots__ = ("insights", "next_page_token", "unread_count")
    INSIGHTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    insights: _containers.RepeatedCompositeFieldContainer[_insight_pb2.Insight]
    next_page_token: str
    unread_count: int
    def __init__(self, insights: _Optional[_Iterable[_Union[_insight_pb2.Insight, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., unread_count: _Optional[int] = ...) -> None: ...

class MarkInsightReadRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAlertRuleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAlertRulesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertRulesResponse(_message.Message):
    __slots__ = ("alert_rules", "next_page_token")
    ALERT_RULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alert_rules: _containers.RepeatedCompositeFieldContainer[_alert_rule_pb2.AlertRule]
    next_page_token: str
    def __init__(self, alert_rules: _Optional[_Iterable[_Union[_alert_rule_pb2.AlertRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateAlertRuleRequest(_message.Message):
    __slots__ = ("parent", "alert_rule", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ALERT_RULE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    alert_rule: _alert_rule_pb2.AlertRule
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., alert_rule: _Optional[_Union[_alert_rule_pb2.AlertRule, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateAlertRuleRequest(_message.Message):
    __slots__ = ("alert_rule", "update_mask")
    ALERT_RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    alert_rule: _alert_rule_pb2.AlertRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, alert_rule: _Optional[_Union[_alert_rule_pb2.AlertRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteAlertRuleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAlertRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "alert_rule", "start_time", "end_time")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ALERT_RULE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    alert_rule: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., alert_rule: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "next_page_token")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[_alert_pb2.Alert]
    next_page_token: str
    def __init__(self, alerts: _Optional[_Iterable[_Union[_alert_pb2.Alert, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRecommendationsRequest(_message.Message):
    __slots__ = ("parent", "days")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    days: int
    def __init__(self, parent: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class GetRecommendationsResponse(_message.Message):
    __slots__ = ("recommendations", "start_date", "end_date")
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[_recommendation_pb2.Recommendation]
    start_date: str
    end_date: str
    def __init__(self, recommendations: _Optional[_Iterable[_Union[_recommendation_pb2.Recommendation, _Mapping]]] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ...) -> None: ...

class GetTrendsRequest(_message.Message):
    __slots__ = ("parent", "type", "days")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    days: int
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class GetTrendsResponse(_message.Message):
    __slots__ = ("trends",)
    TRENDS_FIELD_NUMBER: _ClassVar[int]
    trends: _containers.RepeatedCompositeFieldContainer[_trend_pb2.Trend]
    def __init__(self, trends: _Optional[_Iterable[_Union[_trend_pb2.Trend, _Mapping]]] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("parent", "type", "days", "min_severity", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    days: int
    min_severity: _severity_pb2.Severity
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., days: _Optional[int] = ..., min_severity: _Optional[_Union[_severity_pb2.Severity, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies", "next_page_token")
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[_anomaly_pb2.Anomaly]
    next_page_token: str
    def __init__(self, anomalies: _Optional[_Iterable[_Union[_anomaly_pb2.Anomaly, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListCorrelationsRequest(_message.Message):
    __slots__ = ("parent", "type", "days", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    type: str
    days: int
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., type: _Optional[str] = ..., days: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCorrelationsResponse(_message.Message):
    __slots__ = ("correlations", "next_page_token")
    CORRELATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    correlations: _containers.RepeatedCompositeFieldContainer[_correlation_pb2.Correlation]
    next_page_token: str
    def __init__(self, correlations: _Optional[_Iterable[_Union[_correlation_pb2.Correlation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSummaryRequest(_message.Message):
    __slots__ = ("parent", "period", "date")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    period: _summary_pb2.Summary.Period
    date: str
    def __init__(self, parent: _Optional[str] = ..., period: _Optional[_Union[_summary_pb2.Summary.Period, str]] = ..., date: _Optional[str] = ...) -> None: ...

class WatchAlertsRequest(_message.Message):
    __slots__ = ("parent", "after_alert", "heartbeat_interval_seconds")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    AFTER_ALERT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    after_alert: str
    heartbeat_interval_seconds: int
    def __init__(self, parent: _Optional[str] = ..., after_alert: _Optional[str] = ..., heartbeat_interval_seconds: _Optional[int] = ...) -> None: ...

class WatchAlertsResponse(_message.Message):
    __slots__ = ("alert", "heartbeat")
    ALERT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    alert: _alert_pb2.Alert
    heartbeat: Heartbeat
    def __init__(self, alert: _Optional[_Union[_alert_pb2.Alert, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("send_time", "last_alert")
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ALERT_FIELD_NUMBER: _ClassVar[int]
    send_time: _timestamp_pb2.Timestamp
    last_alert: str
    def __init__(self, send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_alert: _Optional[str] = ...) -> None: ...
