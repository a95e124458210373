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
-- views of closed owners, closed views, an output fed back, a one-output regression
local small = nn.Sequential{nn.Linear(3, 3)}
local x = nn.tensor{{1, 2, 3}, {4, 5, 6}}
local out, params, grads = small:forward(x), small:parameters(), small:gradients()
small:forward(small:forward(x))
small:backward(small:forward(x), nn.tensor{{1, 0, 0}, {0, 1, 0}})
do local o <close> = small:forward(x) end -- luacheck: ignore 211
do local mm <close> = small end -- luacheck: ignore 211
assert(not pcall(out.get, out, 1, 1) and not pcall(params.set, params, 1, 2) and not pcall(grads.sum, grads))
local kept
for batch in b:batches{size = 40} do kept = batch.x end
assert(not pcall(kept.totable, kept))
local reg = nn.Sequential{nn.Linear(784, 1)}
nn.train{model = reg, loss = nn.MSELoss(), optimizer = nn.SGD{lr = 0.01}, data = a, batch = 64, epochs = 1, verbose = false}
assert(nn.evaluate(reg, b, {loss = nn.MSELoss()}).loss >= 0)
assert(m2:input_scale() == 1 / 255 or math.abs(m2:input_scale() - 1 / 255) < 1e-9)
local f = assert(io.open(nn.root .. "/tests/scripts/blue-three.png", "rb")); local png = f:read("a"); f:close()
local core = require("nnlab.core")
assert(core.decode_png(png) == 28); assert(core.decode_png(png:sub(1, 100)) == nil)
assert(core.decode_png(png:sub(1, 40) .. "x" .. png:sub(42)) == nil)
-- the other optimizers, their states restored, refused and collected
for _, opt in ipairs{nn.Adam{l2 = 1e-3, schedule = {kind = "step", step_size = 1}}, nn.AdamW{lr = 1e-3},
                     nn.RMSprop{lr = 1e-3, momentum = 0.9, centered = true}} do
  local om = nn.Sequential{nn.Linear(784, 8), nn.ReLU(), nn.Linear(8, 10)}
  nn.train{model = om, loss = nn.CrossEntropyLoss(), optimizer = opt, data = a, batch = 50, epochs = 1, verbose = false}
  assert(opt:state(opt:state()) and not pcall(opt.state, opt, "x") and not pcall(opt.step, opt, small))
  do local closed <close> = opt end -- luacheck: ignore 211
  assert(not pcall(opt.lr, opt))
end
-- convolutions: views, shifts, Conv2d with stride and padding, both pools, per-channel BatchNorm, sampled gradients
local cnn = nn.Sequential{nn.Reshape{1, 28, 28}, nn.RandomShift(2), nn.Conv2d(1, 3, 5, {stride = 2, padding = 2}), nn.BatchNorm(3),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, {bias = false}), nn.AvgPool2d(2, {padding = 1}),
                          nn.Flatten(), nn.Dropout(0.2), nn.Linear(36, 10)}
nn.train{model = cnn, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.05, momentum = 0.9}, data = a, validation = b,
         batch = 64, epochs = 1, verbose = false}
local cp = os.tmpname(); cnn:save(cp); local cnn2 = nn.load(cp); os.remove(cp)
print(nn.evaluate(cnn2, b).accuracy, nn.gradcheck{model = cnn, loss = nn.CrossEntropyLoss(), data = d:subset(1, 3), sample = 20})
local split = nn.Sequential{nn.Reshape{1, 28, 28}, nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(338, 10)}
nn.train{model = split, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.05}, data = a, batch = 128, epochs = 1,
         verbose = false}
-- a backward in another mode than its forward, and with another x (a first Conv2d keeps its columns)
split:evaluate(); split:forward(b:images(1, 2)); split:training(); split:backward(b:images(1, 2), nn.zeros{2, 10})
split:forward(b:images(1, 2)); split:evaluate(); split:backward(b:images(3, 2), nn.zeros{2, 10})
-- Winograd's path (a 3x3 Conv2d on 16 channels), trained and checked; the plain kernels take im2col instead
local wino = nn.Sequential{nn.Reshape{1, 28, 28}, nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 4, 3), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(), nn.Linear(576, 10)}
nn.train{model = wino, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.05}, data = a, batch = 64, epochs = 1,
         verbose = false}
print(nn.evaluate(wino, b).accuracy, nn.gradcheck{model = wino, loss = nn.CrossEntropyLoss(), data = d:subset(1, 2),
                                                  sample = 10})
-- Normalize: fitted on a dataset, trained through, saved and loaded
local norm = nn.Sequential{nn.Normalize(a), nn.Linear(784, 10)}
nn.train{model = norm, loss = nn.CrossEntropyLoss(), optimizer = nn.Adam{}, data = a, batch = 50, epochs = 1, verbose = false}
local np = os.tmpname(); norm:save(np); local norm2 = nn.load(np); os.remove(np)
print(nn.evaluate(norm2, b).accuracy, norm2:buffers():sum())
-- a narrow first layer on a full batch in a fixed order, in two parts, then in one (BatchNorm after it),
-- with validation between the epochs: in blocks of pixels on a CPU with AVX-512 (the ASan build of
-- make test runs them), by non-zeros under valgrind, which has none
local soft = nn.Sequential{nn.Linear(784, 10)}
nn.train{model = soft, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.3}, data = a, validation = b,
         batch = "full", epochs = 2, shuffle = false, verbose = false}
local softbn = nn.Sequential{nn.Linear(784, 12, {bias = false}), nn.BatchNorm(12), nn.Linear(12, 10)}
nn.train{model = softbn, loss = nn.CrossEntropyLoss(), optimizer = nn.SGD{lr = 0.3}, data = a, batch = "full",
         epochs = 2, shuffle = false, verbose = false}
print(nn.evaluate(soft, b).accuracy, softbn:parameters():sum())
