# R-hat from a short run (2 chains of 500 draws, 4 split halves) scatters by about 0.01 from
# one CPU's draws to another's, so tests of short runs allow 1.03: a sampler that has not
# converged lands far above it. Full runs keep the product's limit, inference.R_HAT_LIMIT.
SHORT_RUN_R_HAT = 1.03
