--- Statistics of replicates: mean, sample standard deviation, Student's t
-- interval and Welch's t-test. The t distribution's CDF is the regularized
-- incomplete beta function, evaluated by its continued fraction (Lentz's
-- method, as in Numerical Recipes' betacf), accurate to about 1e-12.
local stats = {}

--- The mean of a list of numbers (nil for an empty list).
function stats.mean(xs)
  if #xs == 0 then return nil end
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s / #xs
end

--- The sample variance (n - 1 in the denominator); nil below two values.
function stats.variance(xs)
  if #xs < 2 then return nil end
  local m, s = stats.mean(xs), 0
  for _, x in ipairs(xs) do s = s + (x - m) ^ 2 end
  return s / (#xs - 1)
end

function stats.sd(xs)
  local v = stats.variance(xs)
  return v and math.sqrt(v) or nil
end

local function log_beta(a, b)
  -- lgamma through Lanczos (g = 7, n = 9): relative error below 1e-15
  local C = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
             -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
             1.5056327351493116e-7}
  local function lgamma(z)
    if z < 0.5 then return math.log(math.pi / math.abs(math.sin(math.pi * z))) - lgamma(1 - z) end
    z = z - 1
    local x = C[1]
    for i = 1, 8 do x = x + C[i + 1] / (z + i) end
    local t = z + 7.5
    return 0.5 * math.log(2 * math.pi) + (z + 0.5) * math.log(t) - t + math.log(x)
  end
  return lgamma(a) + lgamma(b) - lgamma(a + b)
end

local function betacf(a, b, x)
  local tiny, eps = 1e-300, 1e-15
  local qab, qap, qam = a + b, a + 1, a - 1
  local c, d = 1, 1 - qab * x / qap
  if math.abs(d) < tiny then d = tiny end
  d = 1 / d
  local h = d
  for m = 1, 300 do
    local m2 = 2 * m
    local aa = m * (b - m) * x / ((qam + m2) * (a + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    h = h * d * c
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
    d = 1 + aa * d; if math.abs(d) < tiny then d = tiny end
    c = 1 + aa / c; if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < eps then break end
  end
  return h
end

--- The regularized incomplete beta function I_x(a, b).
function stats.beta_inc(a, b, x)
  if x <= 0 then return 0 end
  if x >= 1 then return 1 end
  local front = math.exp(a * math.log(x) + b * math.log(1 - x) - log_beta(a, b))
  if x < (a + 1) / (a + b + 2) then return front * betacf(a, b, x) / a end
  return 1 - front * betacf(b, a, 1 - x) / b
end

--- P(T <= t) for Student's t with df degrees of freedom (df > 0, real).
function stats.t_cdf(t, df)
  local tail = 0.5 * stats.beta_inc(df / 2, 0.5, df / (df + t * t))
  return t >= 0 and 1 - tail or tail
end

--- The q quantile of Student's t (0 < q < 1), by bisection on the CDF.
function stats.t_quantile(q, df)
  local lo, hi = -1e4, 1e4
  for _ = 1, 200 do
    local mid = (lo + hi) / 2
    if stats.t_cdf(mid, df) < q then lo = mid else hi = mid end
  end
  return (lo + hi) / 2
end

--- n, mean, sd and the 95% Student's t interval of the mean of xs: a table
-- {n, mean, sd, lo, hi}; sd, lo and hi are nil below two values.
function stats.summary(xs)
  local r = {n = #xs, mean = stats.mean(xs), sd = stats.sd(xs)}
  if r.sd then
    local half = stats.t_quantile(0.975, #xs - 1) * r.sd / math.sqrt(#xs)
    r.lo, r.hi = r.mean - half, r.mean + half
  end
  return r
end

--- Welch's two-sided t-test of the means of xs and ys: t, its degrees of
-- freedom (Welch-Satterthwaite) and the p-value; nil when either has fewer
-- than two values. Two samples without spread give p = 1 if their means are
-- equal, else 0.
function stats.welch(xs, ys)
  if #xs < 2 or #ys < 2 then return nil end
  local va, vb = stats.variance(xs) / #xs, stats.variance(ys) / #ys
  local diff = stats.mean(xs) - stats.mean(ys)
  if va + vb == 0 then return diff == 0 and 0 or math.huge, math.huge, diff == 0 and 1 or 0 end
  local t = diff / math.sqrt(va + vb)
  local df = (va + vb) ^ 2 / (va ^ 2 / (#xs - 1) + vb ^ 2 / (#ys - 1))
  local p = 2 * stats.t_cdf(-math.abs(t), df)
  return t, df, p
end

return stats
