# R's forecast package on the first N series of bench/forecast.sh's set: ets() and
# auto.arima() with their defaults, timed, and the accuracy (sMAPE, MASE as in the M4
# competition) of their forecasts and of foreshard's on the same series.
#
# usage: Rscript forecast_r.R TRAIN TEST N SEASON H FS_ETS FS_ARIMA FS_AUTO [N_ARIMA]
# prints "time <method> <seconds per series>" and "acc <method> <sMAPE> <MASE>" lines.
# auto.arima, whose fits take minutes, runs on the first N_ARIMA series (default N; 0 skips it),
# and foreshard's ARIMA is scored on those same series.
suppressMessages(library(forecast))
a <- commandArgs(trailingOnly = TRUE)
n <- as.integer(a[3]); m <- as.integer(a[4]); h <- as.integer(a[5])
n_arima <- if (length(a) >= 9) min(as.integer(a[9]), n) else n

read_series <- function(path, n) {
  lines <- readLines(path, n = n)
  lapply(strsplit(lines, ",", fixed = TRUE), function(f) as.numeric(f[-1]))
}
train <- read_series(a[1], n)
test <- read_series(a[2], n)

smape <- function(y, f) mean(ifelse(abs(y) + abs(f) > 0, 200 * abs(y - f) / (abs(y) + abs(f)), 0))
scale_of <- function(x) mean(abs(diff(x, lag = m)))
# the accuracy of forecasts fc of the first length(fc) series
acc <- function(name, fc) {
  k <- seq_along(fc)
  s <- mapply(function(y, f) smape(y, f), test[k], fc)
  sc <- sapply(train[k], scale_of)
  ms <- mapply(function(y, f, d) mean(abs(y - f)) / d, test[k], fc, sc)
  ok <- is.finite(ms)
  cat(sprintf("acc %s %.4f %.4f\n", name, mean(s), mean(ms[ok])))
}

run <- function(name, fit, k) {
  t0 <- proc.time()[["elapsed"]]
  fc <- lapply(train[seq_len(k)],
               function(x) as.numeric(forecast(fit(ts(x, frequency = m)), h = h)$mean))
  cat(sprintf("time %s %.6f\n", name, (proc.time()[["elapsed"]] - t0) / k))
  acc(name, fc)
}
run("R-ets", function(y) ets(y), n)
acc("foreshard-ets", read_series(a[6], n))
if (n_arima > 0) {
  run("R-auto.arima", function(y) auto.arima(y), n_arima)
  acc("foreshard-arima", read_series(a[7], n_arima))
}
acc("foreshard-auto", read_series(a[8], n))
