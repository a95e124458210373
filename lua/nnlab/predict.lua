--- Classifying single 28x28 digit images with a saved model: the input scale
-- the model was trained with (kept in its file), class probabilities, and the
-- top classes. Shared by `nnlab predict` and experiments/own_digits.lua.
local predict = {}

local SIDE = 28

--- The pixel scale to apply for model: the given override, else the model
-- file's input scale, else 1/255 (MNIST's default; the file does not say, as
-- version 1 files and models never trained by nn.train). Returns the scale
-- and where it came from ("given", "model file" or "default").
function predict.scale(model, override)
  if override then return override, "given" end
  local s = model:input_scale()
  if s > 0 then return s, "model file" end
  return 1 / 255, "default"
end

--- Class probabilities (softmax of the model's outputs) for 784 pixel values
-- in 0..255: a list of {class = 0-based class, p = probability}, most
-- probable first (ties by class); nil and a message when the model's outputs
-- are not finite.
function predict.probabilities(nn, model, px, scale)
  local row = {}
  for i, v in ipairs(px) do row[i] = v * scale end
  local was = model:is_training()
  model:evaluate()
  local out = model:forward(nn.tensor{row}):totable()[1]
  if was then model:training() end
  local mx = -math.huge
  for k, v in ipairs(out) do
    if v ~= v or v == math.huge or v == -math.huge then
      return nil, ("output %d of the model is %s (at scale %g): no probabilities"):format(k, tostring(v), scale)
    end
    mx = math.max(mx, v)
  end
  local sum = 0
  for _, v in ipairs(out) do sum = sum + math.exp(v - mx) end
  local ranked = {}
  for i, v in ipairs(out) do ranked[i] = {class = i - 1, p = math.exp(v - mx) / sum} end
  table.sort(ranked, function(a, b)
    if a.p ~= b.p then return a.p > b.p end
    return a.class < b.class
  end)
  return ranked
end

--- A model file loaded for prediction on 28x28 digits, or nil and a message.
function predict.load(nn, path)
  local ok, model = pcall(nn.load, path)
  if not ok then return nil, tostring(model) end
  if model:in_features() ~= SIDE * SIDE then
    return nil, ("%s: the model takes %d inputs, not 784 (28x28)"):format(path, model:in_features())
  end
  model:evaluate()
  return model
end

return predict
