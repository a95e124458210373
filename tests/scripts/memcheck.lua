local nn = require("nnlab")
local m = nn.mnist()
local d = m.test:subset(1, 300)
local a, b = d:split{200, 100}
local model = nn.Sequential{nn.Linear(784, 16), nn.BatchNorm(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 10), nn.Sigmoid()}
nn.train{model = model, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.1, momentum = 0.9, nesterov = true, l2 = 1e-3, schedule = {kind = "cosine", t_max = 2}}, data = a, validation = b, batch = 32, epochs = 2, verbose = false}
nn.train{model = model, loss = nn.MSELoss(), optimizer = nn.SGD{lr = 0.1}, data = a, batch = 50, epochs = 1, verbose = false}
local p = os.tmpname(); model:save(p); local m2 = nn.load(p); os.remove(p)
print(nn.evaluate(m2, b).accuracy, nn.gradcheck{model = model, loss = nn.CrossEntropyLoss(), data = d:subset(1, 5)})
for batch in b:batches{size = 30, shuffle = true} do local o = model:forward(batch.x) end
pcall(nn.load, "/nonexistent"); pcall(nn.mnist, {dir = "/tmp"})
assert(m2:input_scale() == 1 / 255 or math.abs(m2:input_scale() - 1 / 255) < 1e-9)
local f = assert(io.open(nn.root .. "/tests/scripts/blue-three.png", "rb")); local png = f:read("a"); f:close()
local core = require("nnlab.core")
assert(core.decode_png(png) == 28); assert(core.decode_png(png:sub(1, 100)) == nil)
assert(core.decode_png(png:sub(1, 40) .. "x" .. png:sub(42)) == nil)
