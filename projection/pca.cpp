#include "projection/pca.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

#include "common/error.h"

// LAPACK (provided by OpenBLAS): symmetric eigendecomposition, divide and conquer.
// The trailing size_t arguments are gfortran's hidden lengths of the two char arguments.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
                        size_t uplo_len);

namespace tagscape {

namespace {

std::vector<double> column_means(const PointSet& points) {
  const int dims = points.dims;
  std::vector<double> mean(static_cast<size_t>(dims), 0.0);
  bool finite = true;
#pragma omp parallel
  {
    std::vector<double> local(static_cast<size_t>(dims), 0.0);
    bool local_finite = true;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < points.n; ++i) {
      const float* row = &points.values[static_cast<size_t>(i * dims)];
      for (int d = 0; d < dims; ++d) local[static_cast<size_t>(d)] += row[d];
    }
    for (double v : local) local_finite = local_finite && std::isfinite(v);
#pragma omp critical
    {
      for (int d = 0; d < dims; ++d) mean[static_cast<size_t>(d)] += local[static_cast<size_t>(d)];
      finite = finite && local_finite;
    }
  }
  if (!finite) throw Error("PCA input holds NaN or infinite values");
  for (double& m : mean) m /= static_cast<double>(points.n);
  return mean;
}

// Covariance (ddof 1), full symmetric [dims, dims] row-major.
std::vector<double> covariance(const PointSet& points, const std::vector<double>& mean) {
  const int dims = points.dims;
  const size_t dd = static_cast<size_t>(dims) * dims;
  std::vector<float> mean_f(mean.begin(), mean.end());
  std::vector<float> block(static_cast<size_t>(kPcaBlockRows) * dims), block_product(dd);
  std::vector<double> sum(dd, 0.0);
  for (int64_t begin = 0; begin < points.n; begin += kPcaBlockRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kPcaBlockRows, points.n - begin));
    const float* in = &points.values[static_cast<size_t>(begin * dims)];
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; ++r)
      for (int d = 0; d < dims; ++d)
        block[static_cast<size_t>(r) * dims + d] = in[static_cast<size_t>(r) * dims + d] - mean_f[static_cast<size_t>(d)];
    // Upper triangle of block^T block.
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dims, rows, 1.0f, block.data(), dims, 0.0f,
                block_product.data(), dims);
    for (int i = 0; i < dims; ++i)
      for (int j = i; j < dims; ++j) sum[static_cast<size_t>(i) * dims + j] += block_product[static_cast<size_t>(i) * dims + j];
  }
  // Rows were centred on the float-rounded mean; remove the n * delta delta^T it adds.
  const double n = static_cast<double>(points.n);
  std::vector<double> cov(dd);
  for (int i = 0; i < dims; ++i)
    for (int j = i; j < dims; ++j) {
      const double delta_i = mean[static_cast<size_t>(i)] - mean_f[static_cast<size_t>(i)];
      const double delta_j = mean[static_cast<size_t>(j)] - mean_f[static_cast<size_t>(j)];
      const double value = (sum[static_cast<size_t>(i) * dims + j] - n * delta_i * delta_j) / (n - 1);
      cov[static_cast<size_t>(i) * dims + j] = cov[static_cast<size_t>(j) * dims + i] = value;
    }
  return cov;
}

// Eigenvalues ascending; eigenvectors as rows of `vectors` [dims, dims] (matrix symmetric,
// so LAPACK's column-major columns are our rows).
void symmetric_eigen(std::vector<double> matrix, int dims, std::vector<double>& values, std::vector<double>& vectors) {
  values.assign(static_cast<size_t>(dims), 0.0);
  int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
  double work_size = 0;
  dsyevd_("V", "U", &dims, matrix.data(), &dims, values.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1);
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  dsyevd_("V", "U", &dims, matrix.data(), &dims, values.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) throw Error("PCA eigendecomposition did not converge (LAPACK dsyevd info " + std::to_string(info) + ")");
  vectors = std::move(matrix);
}

void normalise_sign(double* component, int dims) {
  int largest = 0;
  for (int d = 1; d < dims; ++d)
    if (std::fabs(component[d]) > std::fabs(component[largest])) largest = d;
  if (component[largest] < 0)
    for (int d = 0; d < dims; ++d) component[d] = -component[d];
}

}  // namespace

PcaModel fit_pca(const PointSet& points, const PcaParams& params) {
  assert(points.values.size() == static_cast<size_t>(points.n * points.dims));
  if (points.n < 2) throw Error("PCA needs at least 2 points, got " + std::to_string(points.n));
  if (params.out_dims < 1 || params.out_dims > points.dims)
    throw Error("PCA out_dims must be in 1.." + std::to_string(points.dims) + ", got " + std::to_string(params.out_dims));
  const int dims = points.dims;
  PcaModel model;
  model.dims = dims;
  model.out_dims = params.out_dims;
  model.mean = column_means(points);
  std::vector<double> cov = covariance(points, model.mean);
  model.scale.assign(static_cast<size_t>(dims), 1.0);
  if (params.standardize) {
    const double n = static_cast<double>(points.n);
    for (int d = 0; d < dims; ++d) {
      const double std_ddof0 = std::sqrt(cov[static_cast<size_t>(d) * dims + d] * (n - 1) / n);
      if (std_ddof0 > 0) model.scale[static_cast<size_t>(d)] = std_ddof0;  // constant feature: 1, as StandardScaler
    }
    for (int i = 0; i < dims; ++i)
      for (int j = 0; j < dims; ++j)
        cov[static_cast<size_t>(i) * dims + j] /= model.scale[static_cast<size_t>(i)] * model.scale[static_cast<size_t>(j)];
  }
  for (int d = 0; d < dims; ++d) model.total_variance += cov[static_cast<size_t>(d) * dims + d];

  std::vector<double> values, vectors;
  symmetric_eigen(std::move(cov), dims, values, vectors);
  for (int c = 0; c < params.out_dims; ++c) {
    const int source = dims - 1 - c;  // ascending -> descending
    model.explained_variance.push_back(std::max(0.0, values[static_cast<size_t>(source)]));
    const double* vector = &vectors[static_cast<size_t>(source) * dims];
    model.components.insert(model.components.end(), vector, vector + dims);
    normalise_sign(&model.components[static_cast<size_t>(c) * dims], dims);
  }
  return model;
}

Layout project_pca(const PcaModel& model, const PointSet& points) {
  assert(points.dims == model.dims);
  const int dims = model.dims, out_dims = model.out_dims;
  // Fold the scale into the weights: w[c][j] = components[c][j] / scale[j].
  std::vector<double> weights(model.components);
  for (int c = 0; c < out_dims; ++c)
    for (int j = 0; j < dims; ++j) weights[static_cast<size_t>(c) * dims + j] /= model.scale[static_cast<size_t>(j)];
  Layout layout;
  layout.n = points.n;
  layout.out_dims = out_dims;
  layout.coords.resize(static_cast<size_t>(points.n * out_dims));
#pragma omp parallel
  {
    std::vector<double> centred(static_cast<size_t>(dims));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < points.n; ++i) {
      const float* row = &points.values[static_cast<size_t>(i * dims)];
      for (int j = 0; j < dims; ++j) centred[static_cast<size_t>(j)] = row[j] - model.mean[static_cast<size_t>(j)];
      for (int c = 0; c < out_dims; ++c) {
        const double* w = &weights[static_cast<size_t>(c) * dims];
        double sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < dims; ++j) sum += centred[static_cast<size_t>(j)] * w[j];
        layout.coords[static_cast<size_t>(i * out_dims + c)] = static_cast<float>(sum);
      }
    }
  }
  return layout;
}

Layout run_pca(const PointSet& points, const PcaParams& params) {
  const PcaModel model = fit_pca(points, params);
  Layout layout = project_pca(model, points);
  for (double variance : model.explained_variance) {
    layout.explained_variance.push_back(static_cast<float>(variance));
    layout.explained_variance_ratio.push_back(
        static_cast<float>(model.total_variance > 0 ? variance / model.total_variance : 0.0));
  }
  return layout;
}

}  // namespace tagscape
