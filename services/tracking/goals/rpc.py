"""Goals' RPCs, as a mixin of the Tracking servicer: parse, call the use case, render.

The final servicer sets `self.goals` (a GoalService) and `self.page_tokens` (PageTokens) in its __init__.
"""

from __future__ import annotations

import uuid

from google.protobuf import empty_pb2
from healthmesh.tracking.v1 import tracking_service_pb2

from services.common import pagination
from services.common.principal import caller_parent, current_principal, parse_name
from services.tracking.goals import convert
from services.tracking.goals.service import GoalService

GOAL = "users/{user}/goals/{goal}"



def _goal_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    ids = parse_name(name, GOAL, current_principal.get(), field)
    return uuid.UUID(ids["user"]), uuid.UUID(ids["goal"])


def _cursor(tokens: pagination.PageTokens, token: str, query: dict) -> uuid.UUID | None:
    cursor = tokens.decode_keyset(token, query, uuid.UUID)
    return cursor[0] if cursor else None


class GoalRpcs:
    goals: GoalService
    page_tokens: pagination.PageTokens

    async def GetGoal(self, request, context):
        user_id, goal_id = _goal_name(request.name)
        return convert.goal(await self.goals.get(user_id, goal_id))

    async def ListGoals(self, request, context):
        user_id = caller_parent(request.parent)
        state = convert.state_filter(request.state)
        query = {"parent": str(user_id), "state": int(state), "metric": request.metric, "kind": "goals"}
        size = pagination.page_size(request.page_size)
        # One more than the page tells whether another page exists, so the last page has no token.
        after = _cursor(self.page_tokens, request.page_token, query)
        goals = await self.goals.list(user_id, state, request.metric, size + 1, after)
        goals, more = goals[:size], len(goals) > size
        token = self.page_tokens.encode([str(goals[-1].id)], query) if more else ""
        return tracking_service_pb2.ListGoalsResponse(goals=[convert.goal(g) for g in goals], next_page_token=token)

    async def CreateGoal(self, request, context):
        user_id = caller_parent(request.parent)
        return convert.goal(await self.goals.create(user_id, convert.goal_fields(request.goal), request.request_id))

    async def UpdateGoal(self, request, context):
        user_id, goal_id = _goal_name(request.goal.name, "goal.name")
        goal = await self.goals.update(user_id, goal_id, list(request.update_mask.paths),
                                       convert.goal_fields(request.goal))
        return convert.goal(goal)

    async def DeleteGoal(self, request, context):
        user_id, goal_id = _goal_name(request.name)
        await self.goals.delete(user_id, goal_id)
        return empty_pb2.Empty()

    async def GetGoalProgress(self, request, context):
        user_id, goal_id = _goal_name(request.name)
        return convert.progress(await self.goals.progress(user_id, goal_id, request.history_periods))
