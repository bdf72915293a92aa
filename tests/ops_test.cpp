// One small case per op, checked against values computed by hand (or noted numpy
// expressions), plus the fast convolution/matmul paths against the scalar reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "model/ops.h"

using namespace tagscape;
using namespace tagscape::model;

namespace {

// A tensor that owns its values for the duration of a test.
struct Value {
  DType dtype = DType::f32;
  Shape shape;
  std::vector<float> f;
  std::vector<int32_t> i;
  Tensor tensor() { return {dtype, shape, dtype == DType::f32 ? static_cast<void*>(f.data()) : static_cast<void*>(i.data())}; }
};

Value floats(Shape shape, std::vector<float> values) { return {DType::f32, std::move(shape), std::move(values), {}}; }
Value ints(Shape shape, std::vector<int32_t> values) { return {DType::i32, std::move(shape), {}, std::move(values)}; }

Node make_node(OpKind op) {
  Node node;
  node.name = "test";
  node.op = op;
  return node;
}

// Infers, allocates and computes one node; returns the output values.
Value run(const Node& node, std::vector<Value> inputs, bool reference = false) {
  std::vector<Tensor> views;
  for (Value& input : inputs) views.push_back(input.tensor());
  const OutputSpec spec = infer_op(node, views);
  Value out{spec.dtype, spec.shape, {}, {}};
  if (spec.dtype == DType::f32) out.f.resize(element_count(spec.shape));
  else out.i.resize(element_count(spec.shape));
  ThreadPool pool(2);
  OpContext context{&pool, reference, nullptr};
  std::shared_ptr<ConvKernel> kernel;
  if (node.op == OpKind::Conv2D && !reference) {
    kernel = prepare_conv(views[0], views[1], spec.shape, conv2d_params(node, views, spec.shape));
    context.conv = kernel.get();
  }
  compute_op(node, views, out.tensor(), context);
  return out;
}

void expect_floats(const Value& value, const Shape& shape, const std::vector<float>& expected, float tolerance = 1e-6f) {
  EXPECT_EQ(value.shape, shape);
  ASSERT_EQ(value.f.size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_NEAR(value.f[k], expected[k], tolerance) << "at " << k;
}

std::vector<float> random_floats(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(rng);
  return values;
}

TEST(Ops, IdentityReshapeExpandDimsSqueezeKeepValues) {
  const Value x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_floats(run(make_node(OpKind::Identity), {x}), {2, 3}, x.f);
  expect_floats(run(make_node(OpKind::Reshape), {x, ints({2}, {3, -1})}), {3, 2}, x.f);
  expect_floats(run(make_node(OpKind::ExpandDims), {x, ints({}, {-1})}), {2, 3, 1}, x.f);
  Node squeeze = make_node(OpKind::Squeeze);
  expect_floats(run(squeeze, {floats({1, 3, 1}, {7, 8, 9})}), {3}, {7, 8, 9});
  squeeze.attrs.squeeze_dims = {2};
  expect_floats(run(squeeze, {floats({1, 3, 1}, {7, 8, 9})}), {1, 3}, {7, 8, 9});
}

TEST(Ops, ShapeStridedSlicePack) {
  const Value shape = run(make_node(OpKind::Shape), {floats({4, 2, 3}, std::vector<float>(24))});
  EXPECT_EQ(shape.i, (std::vector<int32_t>{4, 2, 3}));
  Node slice = make_node(OpKind::StridedSlice);
  slice.attrs.shrink_axis_mask = 1;  // as Keras Flatten does: shape[0]
  const Value batch = run(slice, {shape, ints({1}, {0}), ints({1}, {1}), ints({1}, {1})});
  EXPECT_EQ(batch.shape, Shape{});
  EXPECT_EQ(batch.i, (std::vector<int32_t>{4}));
  Node pack = make_node(OpKind::Pack);
  const Value packed = run(pack, {batch, ints({}, {6})});
  EXPECT_EQ(packed.shape, Shape{2});
  EXPECT_EQ(packed.i, (std::vector<int32_t>{4, 6}));
  // numpy: np.arange(12).reshape(3, 4)[1:, ::-2] == [[7, 5], [11, 9]]
  Node reverse = make_node(OpKind::StridedSlice);
  reverse.attrs.begin_mask = 2, reverse.attrs.end_mask = 3;
  std::vector<float> range(12);
  for (int k = 0; k < 12; ++k) range[k] = static_cast<float>(k);
  expect_floats(run(reverse, {floats({3, 4}, range), ints({2}, {1, 0}), ints({2}, {0, 0}), ints({2}, {1, -2})}), {2, 2},
                {7, 5, 11, 9});
}

TEST(Ops, PadAddsZerosAround) {
  expect_floats(run(make_node(OpKind::Pad), {floats({2, 2}, {1, 2, 3, 4}), ints({2, 2}, {1, 0, 0, 2})}), {3, 4},
                {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0});
}

TEST(Ops, BinaryOpsBroadcastLikeNumpy) {
  const Value x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_floats(run(make_node(OpKind::Mul), {floats({3}, {10, 100, 1000}), x}), {2, 3}, {10, 200, 3000, 40, 500, 6000});
  expect_floats(run(make_node(OpKind::Add), {x, floats({}, {0.5f})}), {2, 3}, {1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f});
  // [2, 1] - [1, 3] -> [2, 3]: the general (odometer) path.
  expect_floats(run(make_node(OpKind::Sub), {floats({2, 1}, {1, 2}), floats({1, 3}, {1, 2, 3})}), {2, 3},
                {0, -1, -2, 1, 0, -1});
  const Value sum = run(make_node(OpKind::Add), {ints({2}, {1, 2}), ints({2}, {3, 4})});
  EXPECT_EQ(sum.i, (std::vector<int32_t>{4, 6}));
  EXPECT_THROW(run(make_node(OpKind::Add), {floats({2}, {1, 2}), floats({3}, {1, 2, 3})}), Error);
}

TEST(Ops, ActivationsAndBiasAdd) {
  const Value x = floats({2, 2}, {-1, 0, 2, -3});
  expect_floats(run(make_node(OpKind::Relu), {x}), {2, 2}, {0, 0, 2, 0});
  expect_floats(run(make_node(OpKind::Sigmoid), {x}), {2, 2}, {0.26894142f, 0.5f, 0.88079708f, 0.04742587f});
  expect_floats(run(make_node(OpKind::Tanh), {x}), {2, 2}, {-0.76159416f, 0.0f, 0.96402758f, -0.99505475f});
  // numpy: e = np.exp([-1, 0]); e / e.sum()
  expect_floats(run(make_node(OpKind::Softmax), {x}), {2, 2}, {0.26894142f, 0.73105858f, 0.99330715f, 0.00669285f});
  expect_floats(run(make_node(OpKind::BiasAdd), {x, floats({2}, {10, 20})}), {2, 2}, {9, 20, 12, 17});
}

TEST(Ops, ConcatAlongAnyAxis) {
  const Value a = floats({2, 1}, {1, 2});
  const Value b = floats({2, 2}, {3, 4, 5, 6});
  expect_floats(run(make_node(OpKind::ConcatV2), {a, b, ints({}, {1})}), {2, 3}, {1, 3, 4, 2, 5, 6});
  expect_floats(run(make_node(OpKind::ConcatV2), {b, b, ints({}, {-2})}), {4, 2}, {3, 4, 5, 6, 3, 4, 5, 6});
}

TEST(Ops, TransposePermutesAxes) {
  expect_floats(run(make_node(OpKind::Transpose), {floats({2, 3}, {1, 2, 3, 4, 5, 6}), ints({2}, {1, 0})}), {3, 2},
                {1, 4, 2, 5, 3, 6});
  // numpy: np.arange(8).reshape(2, 2, 2).transpose(0, 2, 1).ravel()
  expect_floats(run(make_node(OpKind::Transpose), {floats({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}), ints({3}, {0, 2, 1})}),
                {2, 2, 2}, {0, 2, 1, 3, 4, 6, 5, 7});
}

TEST(Ops, MaxAndMeanReduce) {
  const Value x = floats({2, 3}, {1, 5, 3, 4, 2, 6});
  expect_floats(run(make_node(OpKind::Max), {x, ints({}, {1})}), {2}, {5, 6});
  Node mean = make_node(OpKind::Mean);
  mean.attrs.keep_dims = true;
  expect_floats(run(mean, {x, ints({1}, {0})}), {1, 3}, {2.5f, 3.5f, 4.5f});
  expect_floats(run(make_node(OpKind::Mean), {x, ints({2}, {0, 1})}), {}, {3.5f});
}

TEST(Ops, MaxPoolValidAndSame) {
  // 4x4 input 0..15, 2x2 window stride 2 VALID -> [[5, 7], [13, 15]]
  std::vector<float> image(16);
  for (int k = 0; k < 16; ++k) image[k] = static_cast<float>(k);
  Node pool = make_node(OpKind::MaxPool);
  pool.attrs.ksize = {1, 2, 2, 1};
  pool.attrs.strides = {1, 2, 2, 1};
  expect_floats(run(pool, {floats({1, 4, 4, 1}, image)}), {1, 2, 2, 1}, {5, 7, 13, 15});
  // 3x3 input, 2x2 stride 2 SAME: output 2x2, the last row/col see padding that never wins.
  pool.attrs.padding = Padding::same;
  expect_floats(run(pool, {floats({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, -9})}), {1, 2, 2, 1}, {5, 6, 8, -9});
}

TEST(Ops, Conv2DHandComputed) {
  // x: 3x3 single channel 1..9; w: 2x2 [[1, 0], [0, -1]] -> VALID 2x2: x[i][j] - x[i+1][j+1] = -4 everywhere.
  Node conv = make_node(OpKind::Conv2D);
  const Value x = floats({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Value w = floats({2, 2, 1, 1}, {1, 0, 0, -1});
  expect_floats(run(conv, {x, w}), {1, 2, 2, 1}, {-4, -4, -4, -4});
  expect_floats(run(conv, {x, w}, true), {1, 2, 2, 1}, {-4, -4, -4, -4});
  // SAME, stride 2: output 2x2 at input (0,0),(0,2),(2,0),(2,2); pad after only (total 1).
  conv.attrs.padding = Padding::same;
  conv.attrs.strides = {1, 2, 2, 1};
  expect_floats(run(conv, {x, w}), {1, 2, 2, 1}, {1 - 5, 3, 7, 9});
  // Fused bias + relu: -4 + 5 -> 1, in VALID mode.
  Node fused = make_node(OpKind::Conv2D);
  fused.attrs.fused_bias = fused.attrs.fused_relu = true;
  expect_floats(run(fused, {x, w, floats({1}, {5})}), {1, 2, 2, 1}, {1, 1, 1, 1});
}

struct ConvCase {
  Shape x, w;
  Padding padding;
  int64_t stride, dilation;
  bool bias, relu, scale_offset;
};

void PrintTo(const ConvCase& c, std::ostream* out) {
  *out << "x" << shape_string(c.x) << " w" << shape_string(c.w) << " stride " << c.stride << " dilation " << c.dilation;
}

class ConvFastPath : public ::testing::TestWithParam<ConvCase> {};

std::string conv_case_name(const ::testing::TestParamInfo<ConvCase>& info) {
  static const char* const names[] = {"musicnn_front_end", "temporal_same", "vgg_stride2", "dilated", "pointwise", "full_width"};
  return names[info.index];
}

TEST_P(ConvFastPath, MatchesScalarReference) {
  const ConvCase& c = GetParam();
  Node conv = make_node(OpKind::Conv2D);
  conv.attrs.padding = c.padding;
  conv.attrs.strides = {1, c.stride, c.stride, 1};
  conv.attrs.dilations = {1, c.dilation, c.dilation, 1};
  conv.attrs.fused_bias = c.bias;
  conv.attrs.fused_relu = c.relu;
  conv.attrs.post_scale_offset = c.scale_offset;
  std::vector<Value> inputs = {floats(c.x, random_floats(element_count(c.x), 1)), floats(c.w, random_floats(element_count(c.w), 2))};
  const int64_t channels = c.w[3];
  if (c.bias) inputs.push_back(floats({channels}, random_floats(channels, 3)));
  if (c.scale_offset) {
    inputs.push_back(floats({channels}, random_floats(channels, 4)));
    inputs.push_back(floats({channels}, random_floats(channels, 5)));
  }
  const Value fast = run(conv, inputs);
  const Value reference = run(conv, inputs, true);
  EXPECT_EQ(fast.shape, reference.shape);
  float worst = 0;
  for (size_t k = 0; k < fast.f.size(); ++k) worst = std::max(worst, std::fabs(fast.f[k] - reference.f[k]));
  EXPECT_LT(worst, 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvFastPath,
    ::testing::Values(
        ConvCase{{2, 13, 24, 1}, {7, 8, 1, 12}, Padding::valid, 1, 1, true, true, true},  // MusiCNN front end, small
        ConvCase{{2, 20, 9, 1}, {8, 1, 1, 5}, Padding::same, 1, 1, true, true, false},    // temporal filter, SAME
        ConvCase{{1, 9, 7, 6}, {3, 3, 6, 8}, Padding::same, 2, 1, true, false, false},    // VGG-like, stride 2
        ConvCase{{1, 11, 10, 3}, {3, 2, 3, 4}, Padding::valid, 1, 2, false, true, false}, // dilated
        ConvCase{{3, 5, 5, 4}, {1, 1, 4, 7}, Padding::valid, 1, 1, false, false, true},  // pointwise
        ConvCase{{2, 13, 24, 1}, {7, 24, 1, 12}, Padding::valid, 1, 1, true, true, true}), // full width (mid-end)
    conv_case_name);

TEST(Ops, MatMulHandComputedAndTransposed) {
  // [[1, 2, 3], [4, 5, 6]] x [[1, 0], [0, 1], [1, 1]] = [[4, 5], [10, 11]]
  const Value a = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  const Value b = floats({3, 2}, {1, 0, 0, 1, 1, 1});
  for (bool reference : {false, true}) {
    Node matmul = make_node(OpKind::MatMul);
    expect_floats(run(matmul, {a, b}, reference), {2, 2}, {4, 5, 10, 11});
    matmul.attrs.transpose_a = true;  // a^T [3, 2] x b^T... use [2,3]^T x [2,2]
    expect_floats(run(matmul, {a, floats({2, 2}, {1, 0, 0, 1})}, reference), {3, 2}, {1, 4, 2, 5, 3, 6});
    Node fused = make_node(OpKind::MatMul);
    fused.attrs.transpose_b = true;
    fused.attrs.fused_bias = fused.attrs.fused_relu = true;
    // a x b2^T with b2 = [[1, 1, 1], [-1, 0, 0]]: [[6, -1], [15, -4]] + [1, 1] -> relu
    expect_floats(run(fused, {a, floats({2, 3}, {1, 1, 1, -1, 0, 0}), floats({2}, {1, 1})}, reference), {2, 2},
                  {7, 0, 16, 0});
  }
}

struct InferError {
  OpKind op;
  std::vector<Value> inputs;
  std::string message;
};

TEST(Ops, BadShapesGiveNamedErrors) {
  const std::vector<InferError> cases = {
      {OpKind::Reshape, {floats({2, 3}, std::vector<float>(6)), ints({1}, {4})}, "cannot reshape [2, 3] to [4]"},
      {OpKind::MatMul, {floats({2, 3}, std::vector<float>(6)), floats({2, 3}, std::vector<float>(6))}, "inner dimensions differ"},
      {OpKind::Conv2D, {floats({1, 4, 4, 2}, std::vector<float>(32)), floats({2, 2, 3, 1}, std::vector<float>(12))}, "expects 3 input channels"},
      {OpKind::Transpose, {floats({2, 3}, std::vector<float>(6)), ints({2}, {0, 0})}, "perm repeats an axis"},
      {OpKind::ExpandDims, {floats({2}, {1, 2}), Value{DType::i32, {}, {}, {}}}, "dim must be known before running"},
  };
  for (const InferError& c : cases) {
    std::vector<Value> inputs = c.inputs;
    std::vector<Tensor> views;
    for (Value& v : inputs) views.push_back(v.tensor());
    if (c.op == OpKind::ExpandDims) views[1].data = nullptr;  // a value only known at run time
    try {
      infer_op(make_node(c.op), views);
      ADD_FAILURE() << "expected an error for " << op_kind_name(c.op);
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(c.message), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("node 'test'"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
