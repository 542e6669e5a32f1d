# R's forecast package on the first N series of bench/forecast.sh's set: ets() and
# auto.arima() with their defaults, timed, and the accuracy (sMAPE, MASE as in the M4
# competition) of their forecasts and of foreshard's on the same series.
#
# usage: Rscript forecast_r.R TRAIN TEST N SEASON H FS_ETS FS_ARIMA FS_AUTO
# prints "time <method> <seconds per series>" and "acc <method> <sMAPE> <MASE>" lines.
suppressMessages(library(forecast))
a <- commandArgs(trailingOnly = TRUE)
n <- as.integer(a[3]); m <- as.integer(a[4]); h <- as.integer(a[5])

read_series <- function(path, n) {
  lines <- readLines(path, n = n)
  lapply(strsplit(lines, ",", fixed = TRUE), function(f) as.numeric(f[-1]))
}
train <- read_series(a[1], n)
test <- read_series(a[2], n)

smape <- function(y, f) mean(ifelse(abs(y) + abs(f) > 0, 200 * abs(y - f) / (abs(y) + abs(f)), 0))
scale_of <- function(x) mean(abs(diff(x, lag = m)))
acc <- function(name, fc) {
  s <- mapply(function(y, f) smape(y, f), test, fc)
  sc <- sapply(train, scale_of)
  ms <- mapply(function(y, f, d) mean(abs(y - f)) / d, test, fc, sc)
  ok <- is.finite(ms)
  cat(sprintf("acc %s %.4f %.4f\n", name, mean(s), mean(ms[ok])))
}

run <- function(name, fit) {
  t0 <- proc.time()[["elapsed"]]
  fc <- lapply(train, function(x) as.numeric(forecast(fit(ts(x, frequency = m)), h = h)$mean))
  cat(sprintf("time %s %.6f\n", name, (proc.time()[["elapsed"]] - t0) / n))
  acc(name, fc)
}
run("R-ets", function(y) ets(y))
run("R-auto.arima", function(y) auto.arima(y))
for (i in 6:8) acc(sprintf("foreshard-%s", c("ets", "arima", "auto")[i - 5]), read_series(a[i], n))
