-- Argo CD health of the urna.dev kinds (Election, Mesa, BoothFleet, TallyShard), from the conditions the
-- operator writes. Install it in argocd-cm, once per kind (docs/operator.md, GitOps):
--   resource.customizations.health.urna.dev_Election: |
--     <this file>
-- Healthy: Ready=True for the current generation. Degraded: Stalled=True (an invalid spec, an apiserver
-- refusal, a failed workload) or phase Failed. Suspended: Paused=True. Otherwise Progressing.
local hs = { status = "Progressing", message = "Waiting for the operator to report this generation" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
local conditions = {}
for _, c in ipairs(obj.status.conditions) do
  conditions[c.type] = c
end
local function current(c)
  return c ~= nil and (generation == nil or c.observedGeneration == nil or c.observedGeneration == generation)
end
local paused = conditions["Paused"]
if paused ~= nil and paused.status == "True" then
  return { status = "Suspended", message = paused.message or "Paused" }
end
local stalled = conditions["Stalled"]
if (stalled ~= nil and stalled.status == "True") or obj.status.phase == "Failed" then
  local why = (stalled ~= nil and stalled.message) or (conditions["Degraded"] ~= nil and conditions["Degraded"].message) or ""
  if why == "" then
    why = "Failed"
  end
  return { status = "Degraded", message = why }
end
local ready = conditions["Ready"]
if current(ready) and ready.status == "True" then
  return { status = "Healthy", message = ready.message or "" }
end
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = ready.message
end
return hs
