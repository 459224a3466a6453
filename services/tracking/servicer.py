"""TrackingService: one servicer made of the parts of Tracking, each a mixin with its RPCs."""

from __future__ import annotations

from healthmesh.tracking.v1 import tracking_service_pb2_grpc

from services.common.idempotency import RequestResults
from services.common.pagination import PageTokens
from services.tracking.activities.rpc import ActivityRpcs
from services.tracking.activities.service import ActivityService
from services.tracking.goals.rpc import GoalRpcs
from services.tracking.goals.service import GoalService
from services.tracking.heart_rate.rpc import HeartRateRpcs
from services.tracking.heart_rate.service import HeartRateService
from services.tracking.nutrition.rpc import NutritionRpcs
from services.tracking.nutrition.service import NutritionService
from services.tracking.samples.rpc import SampleRpcs
from services.tracking.samples.service import SampleService
from services.tracking.sleep.rpc import SleepRpcs
from services.tracking.sleep.service import SleepService


class TrackingServicer(SampleRpcs, ActivityRpcs, SleepRpcs, HeartRateRpcs, NutritionRpcs, GoalRpcs,
                       tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, samples: SampleService, request_results: RequestResults, activities: ActivityService,
                 sleep: SleepService, heart_rate: HeartRateService, nutrition: NutritionService,
                 goals: GoalService, page_tokens: PageTokens) -> None:
        self.samples = samples
        self.request_results = request_results
        self.activities = activities
        self.sleep = sleep
        self.heart_rate = heart_rate
        self.nutrition = nutrition
        self.goals = goals
        self.page_tokens = page_tokens
