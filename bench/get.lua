-- wrk script: GET with the bearer token in $TOKEN and/or the cookie in $COOKIE (either may be empty).
local token = os.getenv("TOKEN") or ""
local cookie = os.getenv("COOKIE") or ""
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
if cookie ~= "" then wrk.headers["Cookie"] = cookie end
