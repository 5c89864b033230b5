/**
 * Normal-distribution special functions and the numerically stable log expected improvement
 * helper of Ament et al. (2023, "Unexpected improvements to expected improvement"). Plain EI
 * underflows to exactly 0 a few standard deviations away from the incumbent, which leaves the
 * acquisition optimiser with a flat landscape; working with log h(z) keeps a useful gradient
 * everywhere.
 */

// Coefficients of the rational approximations in Sun's fdlibm s_erf.c ("Permission to use,
// copy, modify, and distribute this software is freely granted, provided that this notice is
// preserved." Copyright (C) 1993 by Sun Microsystems, Inc.).
const ERX = 8.45062911510467529297e-1;
const PP = [1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6];
const PA = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3];
const QA = [1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2];
const RA = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const SA = [1, 1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
const RB = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2];
const SB = [1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

function poly(c: readonly number[], x: number): number {
  let r = 0;
  for (let i = c.length - 1; i >= 0; i--) r = r * x + c[i]!;
  return r;
}

/**
 * erfcx(x) = exp(x^2) erfc(x) for x >= 0.84375, where fdlibm's form erfc(x) = exp(-x^2 - 0.5625
 * + R/S) / x lets the exp(x^2) factor cancel analytically instead of overflowing.
 */
function erfcxTail(x: number): number {
  if (x < 1.25) {
    const s = x - 1;
    return Math.exp(x * x) * (1 - ERX - poly(PA, s) / poly(QA, s));
  }
  if (x < 28) {
    const s = 1 / (x * x);
    const rs = x < 1 / 0.35 ? poly(RA, s) / poly(SA, s) : poly(RB, s) / poly(SB, s);
    return Math.exp(-0.5625 + rs) / x;
  }
  const s = 1 / (x * x);
  return (1 - s * (0.5 - s * (0.75 - s * (1.875 - s * 6.5625)))) / (x * Math.sqrt(Math.PI));
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.84375) {
    const z = ax * ax;
    const e = ax + ax * (poly(PP, z) / poly(QQ, z));
    return x < 0 ? 1 + e : 1 - e;
  }
  if (ax < 28) r = ax < 1.25 ? 1 - ERX - poly(PA, ax - 1) / poly(QA, ax - 1) : Math.exp(-ax * ax) * erfcxTail(ax);
  else r = 0;
  return x < 0 ? 2 - r : r;
}

/** Scaled complementary error function exp(x^2) erfc(x), finite for large positive x. */
export function erfcx(x: number): number {
  if (x < 0.84375) return Math.exp(x * x) * erfc(x);
  return erfcxTail(x);
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT_PI_OVER_2 = Math.sqrt(Math.PI / 2);

export const normPdf = (z: number): number => Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
export const normCdf = (z: number): number => 0.5 * erfc(-z / SQRT2);

// Acklam's rational approximation of the normal quantile, refined by one Halley step.
const IA = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const IB = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const IC = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ID = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Inverse of the standard normal CDF, for p in (0, 1). */
export function normQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((IC[0]! * q + IC[1]!) * q + IC[2]!) * q + IC[3]!) * q + IC[4]!) * q + IC[5]!) / ((((ID[0]! * q + ID[1]!) * q + ID[2]!) * q + ID[3]!) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((IA[0]! * r + IA[1]!) * r + IA[2]!) * r + IA[3]!) * r + IA[4]!) * r + IA[5]!) * q) / (((((IB[0]! * r + IB[1]!) * r + IB[2]!) * r + IB[3]!) * r + IB[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((IC[0]! * q + IC[1]!) * q + IC[2]!) * q + IC[3]!) * q + IC[4]!) * q + IC[5]!) / ((((ID[0]! * q + ID[1]!) * q + ID[2]!) * q + ID[3]!) * q + 1);
  }
  const e = normCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

/** log(1 - exp(a)) for a < 0, accurate on both sides of -ln 2 (Maechler 2012). */
function log1mexp(a: number): number {
  return a > -Math.LN2 ? Math.log(-Math.expm1(a)) : Math.log1p(-Math.exp(a));
}

const Z_ASYMPTOTIC = -1 / Math.sqrt(Number.EPSILON);

/**
 * log h(z) with h(z) = phi(z) + z Phi(z), i.e. log EI(x) = log sigma(x) + log h(z); and
 * d log h / dz = Phi(z) / h(z). Returns both, since the optimiser always wants the gradient.
 */
export function logH(z: number): { value: number; dz: number } {
  if (z > -1) {
    const cdf = normCdf(z);
    const h = normPdf(z) + z * cdf;
    return { value: Math.log(h), dz: cdf / h };
  }
  if (z > Z_ASYMPTOTIC) {
    // Phi(z)/phi(z) = sqrt(pi/2) erfcx(-z/sqrt 2), so h = phi(z) (1 + z m) without cancellation in exp.
    const m = SQRT_PI_OVER_2 * erfcx(-z / SQRT2);
    const a = Math.log(-z * m); // = log(erfcx(-z/sqrt2) |z|) + log(sqrt(pi/2)), which is < 0
    const l = log1mexp(a);
    // 1 + z m cancels badly for large |z|; there Phi/h = |z| (1 + 2/z^2 + O(z^-4)) is exact enough.
    const dz = z < -1000 ? -z * (1 + 2 / (z * z)) : m / Math.exp(l);
    return { value: -0.5 * z * z - LOG_SQRT_2PI + l, dz };
  }
  return { value: -0.5 * z * z - LOG_SQRT_2PI - 2 * Math.log(-z), dz: -z };
}
