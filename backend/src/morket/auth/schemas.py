from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    name: str | None = Field(default=None, max_length=200)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Omitted when the browser sends it in the morket_refresh cookie instead.
    refresh_token: str | None = Field(default=None, min_length=1, max_length=512)


class TokenPair(BaseModel):
    access_token: str
    # None when the refresh token travels in the morket_refresh cookie (X-Refresh-Token-Transport: cookie).
    refresh_token: str | None
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str | None
    created_at: datetime


class AuthResult(BaseModel):
    user: UserOut
    tokens: TokenPair


class LogoutResult(BaseModel):
    logged_out: bool = True
