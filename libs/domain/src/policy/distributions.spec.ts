import { describe, expect, it } from 'vitest';
import { binomialCdf, erfc, normalQuantile, tQuantile } from './distributions';

describe('the distributions the tests read their thresholds from', () => {
  it('normal quantile at known points', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });

  it("Student's t quantile: exact for 1 and 2 degrees of freedom, close beyond", () => {
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(tQuantile(0.975, 2)).toBeCloseTo(4.3027, 3);
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.7764, 2);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.0423, 3);
    expect(tQuantile(0.975, Infinity)).toBe(normalQuantile(0.975));
  });

  it('binomial cdf and erfc against known values', () => {
    expect(binomialCdf(2, 12, 0.25)).toBeCloseTo(0.390675, 6);
    expect(binomialCdf(-1, 5, 0.3)).toBe(0);
    expect(binomialCdf(5, 5, 0.3)).toBe(1);
    expect(binomialCdf(0, 4, 1)).toBe(0);
    expect(binomialCdf(0, 232, 0.25) / 0.75 ** 232).toBeCloseTo(1, 10);
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.1572992071, 7);
    expect(erfc(-1)).toBeCloseTo(1.8427007929, 7);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 5);
  });
});
